"""The assessment form, built from an instrument's definition (`cases.instruments.definitions`): one radio group
per item with its labelled allowed values, or a checkbox for a yes/no item; items outside the total (PHQ-9's
functional question) apart. No instrument has code of its own here: adding one is adding a declaration.

The form checks shapes (a value is one the item allows); completeness, totals and bands are the scorer's
(`cases.instruments.scoring`), and the service's refusals are shown on the items they name.
"""

from typing import Any

from django import forms
from django.utils import timezone

from cases.instruments.definitions import Instrument, Item


def _is_yes_no(item: Item) -> bool:
    return all(isinstance(value, bool) for value in item.allowed)


def item_field(item: Item) -> forms.Field:
    if _is_yes_no(item):
        # An unticked box is "no": a yes/no item is always answered.
        return forms.BooleanField(label=item.label, required=False)
    return forms.TypedChoiceField(
        label=item.label,
        choices=[(choice.value, f"{choice.value}: {choice.label}") for choice in item.choices],
        coerce=int,
        empty_value=None,
        required=False,  # a missing item is the scorer's refusal, named by item ("answer all N items")
        widget=forms.RadioSelect,
    )


class AssessmentForm(forms.Form):
    administered_at = forms.DateTimeField(
        label="Administered",
        help_text="Clinic time (Central). May be earlier today or back-dated; never in the future.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, instrument: Instrument, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        self.fields["administered_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        for item in instrument.items:
            self.fields[item.code] = item_field(item)

    def counted_items(self) -> list[forms.BoundField]:
        return [self[item.code] for item in self.instrument.items if item.counted]

    def modifiers(self) -> list[forms.BoundField]:
        return [self[item.code] for item in self.instrument.items if not item.counted]

    def responses(self) -> dict[str, Any]:
        """The items answered with an allowed value (call after `is_valid()`; an invalid item is left out)."""
        cleaned = getattr(self, "cleaned_data", {})
        answered = {
            item.code: cleaned[item.code]
            for item in self.instrument.items
            if cleaned.get(item.code) is not None and item.code not in self.errors
        }
        # A withdrawn item posted anyway goes to the scorer, which refuses it by name (as the API does).
        return answered | {code: True for code in self.instrument.withdrawn if code in self.data}
