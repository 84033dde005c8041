from django import forms


class RegisterForm(forms.Form):
    # Not required here: the service refuses an unticked box with the program's message.
    agree_to_terms = forms.BooleanField(
        required=False, label="I have read and agree to the Terms and Conditions"
    )
    terms_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)


class CampaignSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search campaigns")
