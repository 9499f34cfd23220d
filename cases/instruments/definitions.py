"""The five instruments as data: items with their allowed values, how they are totalled, and the bands.

Adding an instrument is adding a declaration here; forms, validation, scoring and the API follow from it.
"""

from dataclasses import dataclass, field
from typing import Literal

Value = int | bool


@dataclass(frozen=True)
class Choice:
    value: Value
    label: str


@dataclass(frozen=True)
class Item:
    code: str
    label: str
    choices: tuple[Choice, ...]
    counted: bool = True  # False for an item outside the total (PHQ-9's functional question)
    required: bool = True
    short_label: str = ""  # how an unscored answer is named beside the score

    @property
    def allowed(self) -> tuple[Value, ...]:
        return tuple(choice.value for choice in self.choices)


@dataclass(frozen=True)
class Band:
    code: str
    label: str
    low: int
    high: int


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    reference: str
    items: tuple[Item, ...]
    scoring: Literal["sum", "count_true"]
    bands: tuple[Band, ...] = ()
    notes: tuple[str, ...] = field(default=())
    # Items once offered and withdrawn: a client sending one gets a 400 naming it, with this reason. Stored
    # responses keep them as they were given (history stays readable).
    withdrawn: dict[str, str] = field(default_factory=dict)
    # Suggested diagnosis code per band (DSM-5 checklist only).
    diagnosis_codes: dict[str, str] = field(default_factory=dict)

    @property
    def max_total(self) -> int:
        counted = [item for item in self.items if item.counted]
        if self.scoring == "count_true":
            return len(counted)
        return sum(max(int(v) for v in item.allowed) for item in counted)

    def item(self, code: str) -> Item | None:
        return next((item for item in self.items if item.code == code), None)

    def band_for(self, total: int) -> Band | None:
        return next((band for band in self.bands if band.low <= total <= band.high), None)


def _scale(*labels: str, values: tuple[int, ...] | None = None) -> tuple[Choice, ...]:
    values = values if values is not None else tuple(range(len(labels)))
    return tuple(Choice(v, label) for v, label in zip(values, labels, strict=True))


YES_NO = (Choice(False, "No"), Choice(True, "Yes"))

# --- DSM-5 substance use disorder checklist (kratom, coded as "other substance") ---
DSM5_SUD = Instrument(
    code="dsm5_sud",
    name="DSM-5 substance use disorder checklist (kratom)",
    reference="American Psychiatric Association, DSM-5-TR, Other (or unknown) substance use disorder",
    scoring="count_true",
    items=(
        Item(
            "larger_longer",
            "Kratom often taken in larger amounts or over a longer period than intended",
            YES_NO,
        ),
        Item("cut_down", "Persistent desire or unsuccessful efforts to cut down or control use", YES_NO),
        Item("time_spent", "A great deal of time spent obtaining, using or recovering from kratom", YES_NO),
        Item("craving", "Craving, or a strong desire or urge to use kratom", YES_NO),
        Item("role_failure", "Recurrent use resulting in failure to fulfil major obligations", YES_NO),
        Item(
            "social_problems", "Continued use despite social or interpersonal problems caused by it", YES_NO
        ),
        Item("activities_given_up", "Important activities given up or reduced because of use", YES_NO),
        Item("hazardous_use", "Recurrent use in physically hazardous situations", YES_NO),
        Item("physical_psych_problems", "Continued use despite a physical or psychological problem", YES_NO),
        Item("tolerance", "Tolerance", YES_NO),
        Item("withdrawal", "Withdrawal", YES_NO),
    ),
    bands=(
        Band("none", "Criteria not met", 0, 1),
        Band("mild", "Mild", 2, 3),
        Band("moderate", "Moderate", 4, 5),
        Band("severe", "Severe", 6, 11),
    ),
    notes=(
        "Suggests ICD-10-CM F19.10 (mild) or F19.20 (moderate or severe), kratom named as the substance; in early "
        "or sustained remission F19.11 (mild) or F19.21 (moderate or severe).",
        "Tolerance and withdrawal always count: DSM-5-TR's exclusion for use under medical supervision applies "
        "to opioids, sedatives and stimulants, not to other substances such as kratom.",
    ),
    withdrawn={
        "under_medical_supervision": "under_medical_supervision is not part of this checklist: DSM-5-TR gives the "
        "medical-supervision exclusion for opioids, sedatives and stimulants, not for other (kratom) substance use "
        "disorder; tolerance and withdrawal always count.",
    },
    diagnosis_codes={"mild": "F19.10", "moderate": "F19.20", "severe": "F19.20"},
)

# --- COWS, Clinical Opiate Withdrawal Scale (Wesson & Ling 2003): each item has its own allowed values ---
COWS = Instrument(
    code="cows",
    name="Clinical Opiate Withdrawal Scale (COWS)",
    reference="Wesson DR, Ling W. J Psychoactive Drugs 2003;35(2):253-9",
    scoring="sum",
    items=(
        Item("pulse", "Resting pulse rate", _scale(
            "80 or below", "81-100", "101-120", "Greater than 120", values=(0, 1, 2, 4))),
        Item("sweating", "Sweating (past half hour, not from room temperature or activity)", _scale(
            "No report of chills or flushing", "Subjective report of chills or flushing",
            "Flushed or observable moistness on face", "Beads of sweat on brow or face",
            "Sweat streaming off face")),
        Item("restlessness", "Restlessness (observation during assessment)", _scale(
            "Able to sit still", "Reports difficulty sitting still, but is able to do so",
            "Frequent shifting or extraneous movements of legs/arms",
            "Unable to sit still for more than a few seconds", values=(0, 1, 3, 5))),
        Item("pupil_size", "Pupil size", _scale(
            "Pupils pinned or normal size for room light", "Pupils possibly larger than normal",
            "Pupils moderately dilated", "Pupils so dilated that only the rim of the iris is visible",
            values=(0, 1, 2, 5))),
        Item("bone_joint_aches", "Bone or joint aches (new, attributed to withdrawal)", _scale(
            "Not present", "Mild diffuse discomfort", "Severe diffuse aching of joints/muscles",
            "Rubbing joints or muscles and unable to sit still because of discomfort", values=(0, 1, 2, 4))),
        Item("runny_nose_tearing", "Runny nose or tearing (not from cold symptoms or allergies)", _scale(
            "Not present", "Nasal stuffiness or unusually moist eyes", "Nose running or tearing",
            "Nose constantly running or tears streaming down cheeks", values=(0, 1, 2, 4))),
        Item("gi_upset", "GI upset (past half hour)", _scale(
            "No GI symptoms", "Stomach cramps", "Nausea or loose stool", "Vomiting or diarrhea",
            "Multiple episodes of diarrhea or vomiting", values=(0, 1, 2, 3, 5))),
        Item("tremor", "Tremor (observation of outstretched hands)", _scale(
            "No tremor", "Tremor can be felt, but not observed", "Slight tremor observable",
            "Gross tremor or muscle twitching", values=(0, 1, 2, 4))),
        Item("yawning", "Yawning (observation during assessment)", _scale(
            "No yawning", "Yawning once or twice during assessment",
            "Yawning three or more times during assessment", "Yawning several times per minute",
            values=(0, 1, 2, 4))),
        Item("anxiety_irritability", "Anxiety or irritability", _scale(
            "None", "Reports increasing irritability or anxiousness", "Obviously irritable or anxious",
            "So irritable or anxious that participation in the assessment is difficult", values=(0, 1, 2, 4))),
        Item("gooseflesh", "Gooseflesh skin", _scale(
            "Skin is smooth", "Piloerection of skin can be felt or hairs standing up on arms",
            "Prominent piloerection", values=(0, 3, 5))),
    ),
    bands=(
        Band("none", "No active withdrawal", 0, 4),
        Band("mild", "Mild", 5, 12),
        Band("moderate", "Moderate", 13, 24),
        Band("moderately_severe", "Moderately severe", 25, 36),
        Band("severe", "Severe withdrawal", 37, 48),
    ),
)  # fmt: skip

_SOWS_ITEMS = (
    "I feel anxious", "I feel like yawning", "I am perspiring", "My eyes are tearing", "My nose is running",
    "I have goosebumps", "I am shaking", "I have hot flushes", "I have cold flushes", "My bones and muscles ache",
    "I feel restless", "I feel nauseous", "I feel like vomiting", "My muscles twitch", "I have stomach cramps",
    "I feel like using now",
)  # fmt: skip
_SOWS_SCALE = _scale("Not at all", "A little", "Moderately", "Quite a bit", "Extremely")

# --- SOWS, Subjective Opiate Withdrawal Scale (Handelsman 1987): no bands ---
SOWS = Instrument(
    code="sows",
    name="Subjective Opiate Withdrawal Scale (SOWS)",
    reference="Handelsman L et al. Am J Drug Alcohol Abuse 1987;13(3):293-308",
    scoring="sum",
    items=tuple(Item(f"q{i}", label, _SOWS_SCALE) for i, label in enumerate(_SOWS_ITEMS, start=1)),
)

_FREQUENCY = _scale("Not at all", "Several days", "More than half the days", "Nearly every day")

_PHQ9_ITEMS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed, or the opposite: being so fidgety "
    "or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead, or of hurting yourself in some way",
)

# --- PHQ-9 (Kroenke, Spitzer & Williams 2001), over the last two weeks ---
PHQ9 = Instrument(
    code="phq9",
    name="Patient Health Questionnaire-9 (PHQ-9)",
    reference="Kroenke K, Spitzer RL, Williams JB. J Gen Intern Med 2001;16(9):606-13",
    scoring="sum",
    items=(
        *(Item(f"q{i}", label, _FREQUENCY) for i, label in enumerate(_PHQ9_ITEMS, start=1)),
        # Kroenke 2001: the functional question, answered by those who checked off any problem; not scored.
        Item(
            "q10",
            "If you checked off any problems, how difficult have these problems made it for you to do your work, "
            "take care of things at home, or get along with other people?",
            _scale("Not difficult at all", "Somewhat difficult", "Very difficult", "Extremely difficult"),
            counted=False,
            required=False,
            short_label="Difficulty",
        ),
    ),
    bands=(
        Band("minimal", "Minimal", 0, 4),
        Band("mild", "Mild", 5, 9),
        Band("moderate", "Moderate", 10, 14),
        Band("moderately_severe", "Moderately severe", 15, 19),
        Band("severe", "Severe", 20, 27),
    ),
    notes=(
        "Item 9 above 0 raises an urgent suicide-risk alert.",
        "Question 10 (functional difficulty) is optional and not part of the total (Kroenke 2001).",
    ),
)

_GAD7_ITEMS = (
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid, as if something awful might happen",
)

# --- GAD-7 (Spitzer et al. 2006), over the last two weeks ---
GAD7 = Instrument(
    code="gad7",
    name="Generalized Anxiety Disorder-7 (GAD-7)",
    reference="Spitzer RL et al. Arch Intern Med 2006;166(10):1092-7",
    scoring="sum",
    items=tuple(Item(f"q{i}", label, _FREQUENCY) for i, label in enumerate(_GAD7_ITEMS, start=1)),
    bands=(
        Band("minimal", "Minimal", 0, 4),
        Band("mild", "Mild", 5, 9),
        Band("moderate", "Moderate", 10, 14),
        Band("severe", "Severe", 15, 21),
    ),
)

INSTRUMENTS: dict[str, Instrument] = {i.code: i for i in (DSM5_SUD, COWS, SOWS, PHQ9, GAD7)}
