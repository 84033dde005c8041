"""What every app may use: money and date helpers, and the record of job runs. It imports
no other app."""
