from django import forms

from evaluation.models import CropRule

CROP_CHOICES = [*CropRule.choices, ("other", "something else")]


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV or JSON: id + yaw, pitch, roll (degrees) or R (9 numbers, row-major).")
    name = forms.CharField(max_length=200, help_text="The model's name on the leaderboard.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    crop_used = forms.ChoiceField(choices=CROP_CHOICES, label="Crop the predictions were made with")
    is_public = forms.BooleanField(required=False, label="Public (other researchers see it)")
    allow_unknown_ids = forms.BooleanField(
        required=False, label="Ignore ids that are not in the benchmark (instead of rejecting the file)"
    )


class ProposerRunForm(forms.Form):
    proposer = forms.ChoiceField(choices=[])
    is_public = forms.BooleanField(required=False, initial=True, label="Public")

    def __init__(self, *args, proposers=(), default=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proposer"].choices = [(p, p) for p in proposers]
        if default in proposers:
            self.fields["proposer"].initial = default
