from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="jobrun",
            index=models.Index(
                condition=models.Q(("status", "running")), fields=["id"], name="job_run_running"
            ),
        ),
    ]
