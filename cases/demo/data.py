"""Vocabulary for the demo clinic: staff, names, Kansas places, weights and note templates (data, no logic)."""

from dataclasses import dataclass

from clinic.roles import Role


@dataclass(frozen=True)
class DemoStaffMember:
    username: str
    password: str
    role: Role
    first_name: str
    last_name: str
    # Share of new cases this clinician takes as primary (0 = never primary).
    caseload_weight: int = 0
    # May prescribe (physicians, nurse practitioners): runs medication-management visits.
    prescriber: bool = False
    is_staff: bool = False
    # Written after the name on signatures (clinic.models.User.credentials).
    credentials: str = ""


# Readable, fixed demo passwords: the point of a demo login is that anyone can type it.
DEMO_STAFF: tuple[DemoStaffMember, ...] = (
    DemoStaffMember("frontdesk", "demo-frontdesk-2026", Role.FRONT_DESK, "Tamara", "Ochoa"),
    DemoStaffMember(
        "clinician",
        "demo-clinician-2026",
        Role.CLINICIAN,
        "Casey",
        "Morgan",
        caseload_weight=24,
        credentials="LMSW",
    ),
    DemoStaffMember(
        "dr.okafor",
        "demo-dr-okafor-2026",
        Role.CLINICIAN,
        "Chidi",
        "Okafor",
        caseload_weight=18,
        prescriber=True,
        credentials="MD",
    ),
    DemoStaffMember(
        "np.reyes",
        "demo-np-reyes-2026",
        Role.CLINICIAN,
        "Marisol",
        "Reyes",
        caseload_weight=20,
        prescriber=True,
        credentials="NP",
    ),
    DemoStaffMember(
        "lcac.whitaker",
        "demo-lcac-whitaker-2026",
        Role.CLINICIAN,
        "Jordan",
        "Whitaker",
        caseload_weight=20,
        credentials="LCAC",
    ),
    DemoStaffMember(
        "lscsw.patel",
        "demo-lscsw-patel-2026",
        Role.CLINICIAN,
        "Priya",
        "Patel",
        caseload_weight=18,
        credentials="LSCSW",
    ),
    DemoStaffMember(
        "supervisor",
        "demo-supervisor-2026",
        Role.SUPERVISOR,
        "Helen",
        "Brandt",
        prescriber=True,
        credentials="MD",
    ),
    DemoStaffMember("admin", "demo-admin-2026", Role.ADMINISTRATOR, "Greg", "Lindqvist", is_staff=True),
)

# --- Who the patients are. ---

FEMALE_FIRST_NAMES: tuple[str, ...] = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
    "Lisa", "Nancy", "Sandra", "Margaret", "Ashley", "Kimberly", "Emily", "Donna", "Michelle", "Carol",
    "Amanda", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia", "Amy", "Kathleen",
    "Angela", "Shirley", "Brenda", "Emma", "Anna", "Pamela", "Nicole", "Samantha", "Katherine", "Christine",
    "Debra", "Rachel", "Carolyn", "Janet", "Maria", "Catherine", "Heather", "Diane", "Olivia", "Julie",
    "Joyce", "Victoria", "Kelly", "Christina", "Lauren", "Andrea", "Hannah", "Megan", "Cheryl", "Jacqueline",
    "Madison", "Teresa", "Gloria", "Sara", "Janice", "Kathryn", "Abigail", "Sophia", "Alice", "Judy",
    "Julia", "Grace", "Amber", "Denise", "Danielle", "Marilyn", "Beverly", "Charlotte", "Natalie", "Theresa",
    "Diana", "Brittany", "Kayla", "Alexis", "Lori", "Tiffany", "Crystal", "Misty", "Brandy", "Tonya",
    "Rosa", "Guadalupe", "Yesenia", "Leticia", "Mai", "Linh", "Aaliyah", "Destiny", "Kaylee", "Brooke",
    "Whitney", "Courtney", "Jenna", "Kristin", "Lindsey", "Shelby", "Haley", "Morgan", "Paige", "Chelsea",
)  # fmt: skip

MALE_FIRST_NAMES: tuple[str, ...] = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Christopher",
    "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Andrew", "Paul", "Joshua",
    "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Jason", "Edward", "Jeffrey", "Ryan",
    "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon",
    "Benjamin", "Samuel", "Gregory", "Alexander", "Patrick", "Frank", "Raymond", "Jack", "Dennis", "Jerry",
    "Tyler", "Aaron", "Jose", "Adam", "Nathan", "Henry", "Zachary", "Douglas", "Peter", "Kyle",
    "Noah", "Ethan", "Jeremy", "Walter", "Christian", "Keith", "Roger", "Terry", "Austin", "Sean",
    "Gerald", "Carl", "Harold", "Dylan", "Arthur", "Lawrence", "Jordan", "Jesse", "Bryan", "Billy",
    "Bruce", "Gabriel", "Logan", "Alan", "Juan", "Albert", "Wayne", "Randy", "Vincent", "Mason",
    "Roy", "Ralph", "Bobby", "Russell", "Bradley", "Travis", "Dustin", "Cody", "Chad", "Derek",
    "Shane", "Wyatt", "Colton", "Luis", "Carlos", "Miguel", "DeShawn", "Marcus", "Minh", "Duc",
    "Caleb", "Garrett", "Clayton", "Dalton", "Brett", "Trent", "Tanner", "Levi", "Colby", "Jared",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Garcia", "Rodriguez", "Wilson",
    "Martinez", "Anderson", "Taylor", "Thomas", "Hernandez", "Moore", "Martin", "Jackson", "Thompson", "White",
    "Lopez", "Lee", "Gonzalez", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Perez", "Hall",
    "Young", "Allen", "Sanchez", "Wright", "King", "Scott", "Green", "Baker", "Adams", "Nelson",
    "Hill", "Ramirez", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Torres",
    "Parker", "Collins", "Edwards", "Stewart", "Flores", "Morris", "Nguyen", "Murphy", "Rivera", "Cook",
    "Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Gomez", "Kelly", "Howard",
    "Ward", "Cox", "Diaz", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "James",
    "Reyes", "Cruz", "Hughes", "Price", "Myers", "Long", "Foster", "Sanders", "Ross", "Morales",
    "Powell", "Sullivan", "Russell", "Ortiz", "Jenkins", "Gutierrez", "Perry", "Butler", "Barnes", "Fisher",
    "Henderson", "Coleman", "Simmons", "Patterson", "Jordan", "Reynolds", "Hamilton", "Graham", "Kim", "Gonzales",
    "Alexander", "Ramos", "Wallace", "Griffin", "West", "Cole", "Hayes", "Chavez", "Gibson", "Bryant",
    "Ellis", "Stevens", "Murray", "Ford", "Marshall", "Owens", "McDonald", "Harrison", "Ruiz", "Kennedy",
    "Wells", "Alvarez", "Woods", "Mendoza", "Castillo", "Olson", "Webb", "Washington", "Tucker", "Freeman",
    "Burns", "Henry", "Vasquez", "Snyder", "Simpson", "Crawford", "Jimenez", "Porter", "Mason", "Shaw",
    "Gordon", "Wagner", "Hunter", "Romero", "Hicks", "Dixon", "Hunt", "Palmer", "Robertson", "Black",
    "Holmes", "Stone", "Meyer", "Boyd", "Mills", "Warren", "Fox", "Rose", "Rice", "Moreno",
    "Schmidt", "Ferguson", "Nichols", "Herrera", "Medina", "Ryan", "Fernandez", "Weaver", "Daniels", "Stephens",
    "Gardner", "Payne", "Kelley", "Dunn", "Pierce", "Arnold", "Tran", "Spencer", "Peters", "Hawkins",
    "Grant", "Hansen", "Castro", "Hoffman", "Hart", "Elliott", "Cunningham", "Knight", "Bradley", "Unruh",
    "Krehbiel", "Schroeder", "Koehn", "Friesen", "Janzen", "Penner", "Regier", "Goering", "Yoder", "Stucky",
    "Hiebert", "Dyck", "Wiebe", "Klassen", "Becker", "Schultz", "Koch", "Bauer", "Richter", "Lang",
    "Zimmerman", "Lindholm", "Swenson", "Carlson", "Pham", "Le", "Vo", "Huynh", "O'Brien", "Delgado",
)  # fmt: skip

# Some patients go by a short form of their legal name.
NICKNAMES: dict[str, str] = {
    "William": "Bill", "Robert": "Bob", "Richard": "Rick", "James": "Jim", "Michael": "Mike",
    "Christopher": "Chris", "Joseph": "Joe", "Thomas": "Tom", "Daniel": "Dan", "Matthew": "Matt",
    "Anthony": "Tony", "Steven": "Steve", "Andrew": "Drew", "Kenneth": "Ken", "Timothy": "Tim",
    "Ronald": "Ron", "Edward": "Ed", "Jeffrey": "Jeff", "Nicholas": "Nick", "Jonathan": "Jon",
    "Benjamin": "Ben", "Samuel": "Sam", "Gregory": "Greg", "Alexander": "Alex", "Zachary": "Zach",
    "Elizabeth": "Liz", "Patricia": "Trish", "Jennifer": "Jen", "Margaret": "Maggie", "Kimberly": "Kim",
    "Katherine": "Kate", "Rebecca": "Becky", "Samantha": "Sam", "Christina": "Tina", "Deborah": "Deb",
    "Jacqueline": "Jackie", "Victoria": "Tori", "Abigail": "Abby", "Cynthia": "Cindy", "Pamela": "Pam",
}  # fmt: skip

SEX_AT_BIRTH_WEIGHTS: dict[str, int] = {"male": 54, "female": 44, "intersex": 1, "unknown": 1}

# Gender identity as the patient wrote it (free text); blank = not asked or declined.
GENDER_IDENTITIES: dict[str, tuple[tuple[str, int], ...]] = {
    "male": (("Man", 86), ("", 10), ("Non-binary", 2), ("Transgender woman", 2)),
    "female": (("Woman", 86), ("", 10), ("Non-binary", 2), ("Transgender man", 2)),
    "intersex": (("Non-binary", 50), ("", 50)),
    "unknown": (("", 100),),
}

EMERGENCY_RELATIONSHIPS: tuple[tuple[str, int], ...] = (
    ("Spouse", 30), ("Partner", 15), ("Mother", 18), ("Father", 8), ("Sister", 8), ("Brother", 6),
    ("Adult child", 6), ("Friend", 7), ("Grandmother", 2),
)  # fmt: skip

# --- Where they live: (city, county, area code, ZIP codes, weight ~ share of the clinic's patients). ---
KANSAS_PLACES: tuple[tuple[str, str, str, tuple[str, ...], int], ...] = (
    ("Wichita", "Sedgwick", "316", ("67203", "67204", "67207", "67208", "67211", "67212", "67213", "67214", "67216", "67217", "67218", "67226"), 30),
    ("Derby", "Sedgwick", "316", ("67037",), 3),
    ("Haysville", "Sedgwick", "316", ("67060",), 2),
    ("Andover", "Butler", "316", ("67002",), 2),
    ("El Dorado", "Butler", "316", ("67042",), 2),
    ("Augusta", "Butler", "316", ("67010",), 1),
    ("Newton", "Harvey", "316", ("67114",), 3),
    ("Hutchinson", "Reno", "620", ("67501", "67502"), 5),
    ("Salina", "Saline", "785", ("67401",), 5),
    ("McPherson", "McPherson", "620", ("67460",), 2),
    ("Emporia", "Lyon", "620", ("66801",), 3),
    ("Topeka", "Shawnee", "785", ("66604", "66605", "66606", "66611", "66614", "66618"), 9),
    ("Lawrence", "Douglas", "785", ("66044", "66046", "66047", "66049"), 6),
    ("Manhattan", "Riley", "785", ("66502", "66503"), 4),
    ("Junction City", "Geary", "785", ("66441",), 2),
    ("Kansas City", "Wyandotte", "913", ("66101", "66102", "66104", "66106", "66109", "66112"), 6),
    ("Overland Park", "Johnson", "913", ("66204", "66207", "66210", "66212", "66213", "66223"), 5),
    ("Olathe", "Johnson", "913", ("66061", "66062"), 3),
    ("Shawnee", "Johnson", "913", ("66216", "66217"), 2),
    ("Leavenworth", "Leavenworth", "913", ("66048",), 2),
    ("Ottawa", "Franklin", "785", ("66067",), 1),
    ("Paola", "Miami", "913", ("66071",), 1),
    ("Atchison", "Atchison", "913", ("66002",), 1),
    ("Hiawatha", "Brown", "785", ("66434",), 1),
    ("Holton", "Jackson", "785", ("66436",), 1),
    ("Marysville", "Marshall", "785", ("66508",), 1),
    ("Abilene", "Dickinson", "785", ("67410",), 1),
    ("Concordia", "Cloud", "785", ("66901",), 1),
    ("Beloit", "Mitchell", "785", ("67420",), 1),
    ("Hays", "Ellis", "785", ("67601",), 2),
    ("Russell", "Russell", "785", ("67665",), 1),
    ("Great Bend", "Barton", "620", ("67530",), 2),
    ("Larned", "Pawnee", "620", ("67550",), 1),
    ("Pratt", "Pratt", "620", ("67124",), 1),
    ("Dodge City", "Ford", "620", ("67801",), 2),
    ("Garden City", "Finney", "620", ("67846",), 2),
    ("Liberal", "Seward", "620", ("67901",), 1),
    ("Ulysses", "Grant", "620", ("67880",), 1),
    ("Colby", "Thomas", "785", ("67701",), 1),
    ("Goodland", "Sherman", "785", ("67735",), 1),
    ("Winfield", "Cowley", "620", ("67156",), 1),
    ("Arkansas City", "Cowley", "620", ("67005",), 1),
    ("Wellington", "Sumner", "620", ("67152",), 1),
    ("Pittsburg", "Crawford", "620", ("66762",), 2),
    ("Fort Scott", "Bourbon", "620", ("66701",), 1),
    ("Iola", "Allen", "620", ("66749",), 1),
    ("Chanute", "Neosho", "620", ("66720",), 1),
    ("Parsons", "Labette", "620", ("67357",), 1),
    ("Independence", "Montgomery", "620", ("67301",), 1),
    ("Coffeyville", "Montgomery", "620", ("67337",), 1),
)  # fmt: skip

STREET_NAMES: tuple[str, ...] = (
    "Main", "Oak", "Maple", "Elm", "Walnut", "Cedar", "Pine", "Washington", "Lincoln", "Jefferson",
    "Kansas", "Broadway", "Central", "Douglas", "Harry", "Kellogg", "Hillside", "Rock", "Meridian", "Seneca",
    "Santa Fe", "Chisholm", "Prairie", "Sunflower", "Cottonwood", "Buffalo", "Wheat", "Sycamore", "Hickory",
    "Locust", "Poplar", "Park", "Church", "Mill", "College", "Country Club", "Osage", "Pawnee", "Kiowa",
    "1st", "2nd", "3rd", "4th", "5th", "6th", "8th", "10th", "12th", "13th", "17th", "21st", "29th",
)  # fmt: skip
STREET_SUFFIXES: tuple[str, ...] = ("St", "St", "Ave", "Ave", "Rd", "Dr", "Ln", "Ct", "Pl", "Cir", "Ter")
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.net", "example.org")

# --- The case: how they came and what they use. Codes are SPEC section 10's. ---

REFERRAL_SOURCE_WEIGHTS: dict[str, int] = {
    "self": 30, "family": 15, "primary_care": 20, "emergency_department": 12, "court": 8, "employer": 3,
    "other_provider": 8, "other": 4,
}  # fmt: skip
KRATOM_FORM_WEIGHTS: dict[str, int] = {
    "powder": 45, "capsules": 24, "extract": 12, "seven_oh_product": 13, "other": 6,
}  # fmt: skip
# Typical daily amount in grams by form: (low, mode, high) for a triangular draw.
DAILY_GRAMS_BY_FORM: dict[str, tuple[float, float, float]] = {
    "powder": (8.0, 30.0, 90.0),
    "capsules": (4.0, 15.0, 45.0),
    "extract": (1.0, 5.0, 20.0),
    "seven_oh_product": (0.5, 2.0, 8.0),
    "other": (3.0, 12.0, 40.0),
}
REASON_FOR_USE_WEIGHTS: dict[str, int] = {
    "pain": 35, "anxiety_mood": 30, "energy": 20, "opioid_withdrawal": 20, "other": 5,
}  # fmt: skip
# How notes put the codes into words.
FORM_WORDS: dict[str, str] = {
    "powder": "powder", "capsules": "capsules", "extract": "extract", "seven_oh_product": "7-OH tablets",
    "other": "other products",
}  # fmt: skip
REASON_WORDS: dict[str, str] = {
    "pain": "chronic back pain", "anxiety_mood": "anxiety", "energy": "energy at work",
    "opioid_withdrawal": "opioid withdrawal", "other": "sleep",
}  # fmt: skip
REFERRAL_WORDS: dict[str, str] = {
    "self": "deciding on their own to get help", "family": "family urged them to get help",
    "primary_care": "a referral from primary care", "emergency_department": "an emergency department visit",
    "court": "a court referral", "employer": "a referral from their employer",
    "other_provider": "a referral from another provider", "other": "a friend's suggestion",
}  # fmt: skip
OTHER_SUBSTANCES: tuple[str, ...] = (
    "Alcohol, weekends", "Alcohol, 2-3 drinks most evenings", "Cannabis, occasional", "Cannabis, daily",
    "Nicotine (vaping)", "Tobacco, about a pack a day", "Caffeine (energy drinks)",
    "Past prescription opioid misuse, in sustained remission", "Benzodiazepines, occasional, not prescribed",
    "Methamphetamine, remote history",
)  # fmt: skip

# --- How the population spreads over the workflow. ---

# Where each patient's current (latest) case stands today.
STAGE_WEIGHTS: dict[str, int] = {
    "intake": 8, "assessment": 10, "treatment": 32, "recovery": 22, "discharged": 28,
}  # fmt: skip
# Patients with an earlier, discharged case and a new open one.
READMISSION_SHARE = 0.12
# Share of cases that relapse in recovery and return to treatment.
RELAPSE_SHARE = 0.15
DISCHARGE_REASON_WEIGHTS: dict[str, int] = {
    "completed": 35, "left_against_advice": 28, "transferred": 12, "terminated_by_facility": 6,
    "incarcerated": 7, "other": 12,
}  # fmt: skip
# An earlier episode that ended before the patient came back: more often a drop-out.
EARLIER_DISCHARGE_REASON_WEIGHTS: dict[str, int] = {
    "left_against_advice": 45, "completed": 25, "incarcerated": 10, "transferred": 5,
    "terminated_by_facility": 5, "other": 10,
}  # fmt: skip
# The stage a case was in when discharged for each reason.
DISCHARGED_FROM_WEIGHTS: dict[str, dict[str, int]] = {
    "completed": {"recovery": 85, "treatment": 15},
    "left_against_advice": {"intake": 10, "assessment": 20, "treatment": 60, "recovery": 10},
    "transferred": {"assessment": 30, "treatment": 60, "recovery": 10},
    "terminated_by_facility": {"treatment": 85, "recovery": 15},
    "incarcerated": {"assessment": 10, "treatment": 60, "recovery": 30},
    "other": {"intake": 15, "assessment": 15, "treatment": 40, "recovery": 30},
}

# --- Visits. ---

ATTENDANCE_WEIGHTS: dict[str, int] = {"attended": 80, "no_show": 9, "cancelled": 7, "late_cancel": 4}
VISIT_TYPE_WEIGHTS: dict[str, dict[str, int]] = {
    "intake": {"phone_checkin": 100},
    "assessment": {"lab_only": 60, "assessment": 40},
    "treatment": {
        "individual_counseling": 34, "medication_management": 22, "group_counseling": 20, "telehealth": 10,
        "phone_checkin": 7, "lab_only": 7,
    },
    "recovery": {
        "individual_counseling": 32, "group_counseling": 25, "telehealth": 15, "phone_checkin": 20,
        "medication_management": 8,
    },
}  # fmt: skip
VISIT_MINUTES: dict[str, int] = {
    "intake": 90, "assessment": 60, "individual_counseling": 50, "group_counseling": 90,
    "medication_management": 30, "telehealth": 45, "phone_checkin": 15, "lab_only": 15,
}  # fmt: skip
# Visits where vitals are taken (not over the phone or video).
IN_PERSON_TYPES = frozenset(
    {"intake", "assessment", "individual_counseling", "group_counseling", "medication_management", "lab_only"}
)
WITHDRAWAL_SYMPTOM_WEIGHTS: dict[str, int] = {
    "irritability": 20, "insomnia": 22, "muscle_aches": 18, "restlessness": 14, "sweating": 10, "nausea": 8,
    "diarrhea": 6, "other": 2,
}  # fmt: skip
SYMPTOM_WORDS: dict[str, str] = {
    "irritability": "irritability", "insomnia": "poor sleep", "muscle_aches": "muscle aches",
    "restlessness": "restless legs", "sweating": "sweats", "nausea": "nausea", "diarrhea": "loose stools",
    "other": "runny nose",
}  # fmt: skip

# --- Assessments. Items, allowed values, bands and scoring come from `cases.instruments`; this is only how
# likely each DSM-5 criterion is among people who come to the clinic. ---

DSM5_CRITERION_WEIGHTS: dict[str, int] = {
    "tolerance": 10, "withdrawal": 10, "craving": 9, "cut_down": 8, "larger_longer": 8, "time_spent": 6,
    "physical_psych_problems": 5, "activities_given_up": 4, "role_failure": 4, "social_problems": 3,
    "hazardous_use": 2,
}  # fmt: skip

# --- Stage history reasons. ---

TRANSITION_REASONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("intake", "assessment"): (
        "Intake complete; consents signed.",
        "Intake interview done; assessment visit held.",
        "Registration and intake complete.",
    ),
    ("assessment", "treatment"): (
        "DSM-5 checklist completed; treatment plan agreed with patient.",
        "Diagnosis confirmed; starting supervised taper.",
        "Assessment complete; weekly counseling and taper schedule agreed.",
    ),
    ("treatment", "recovery"): (
        "Taper completed; no kratom use for 8 weeks. Stepping down to recovery visits.",
        "Sustained abstinence; moving to long-term recovery follow-up.",
        "Treatment goals met; monthly recovery visits from now on.",
    ),
    ("recovery", "treatment"): (
        "Return to daily kratom use after job loss; resuming weekly visits.",
        "Relapse reported after back injury flare; back to active treatment.",
        "Use restarted during family crisis; patient asked to resume treatment.",
        "Positive screen and reported use for 3 weeks; returning to treatment.",
    ),
}
# Entering treatment on buprenorphine/naloxone (the case's medication list says so too).
BUPRENORPHINE_START_REASONS: tuple[str, ...] = (
    "Assessment complete; starting buprenorphine induction per plan.",
    "DSM-5 checklist completed; buprenorphine/naloxone induction today, weekly counseling.",
)
DISCHARGE_NOTES: dict[str, tuple[str, ...]] = {
    "completed": (
        "Treatment completed; relapse-prevention plan given, follow up with primary care.",
        "All plan goals met; discharged with community support referrals.",
    ),
    "left_against_advice": (
        "No contact after repeated missed visits; outreach letters unanswered.",
        "Patient declined further treatment against advice.",
    ),
    "transferred": (
        "Transferred to residential program for a higher level of care.",
        "Moved closer to family; transferred to an outpatient program in another city.",
    ),
    "terminated_by_facility": (
        "Discharged by the facility after repeated violations of the treatment agreement.",
    ),
    "incarcerated": ("Patient incarcerated; records sent to the facility's medical unit on request.",),
    "other": (
        "Moved out of state.",
        "Insurance coverage ended; referred to a sliding-scale program.",
    ),
}

# --- Visit notes (SOAP). Placeholders are filled from the visit; unused ones are ignored. ---

SUBJECTIVE: dict[str, tuple[str, ...]] = {
    "pre": (
        "{name} reports daily kratom use ({form}), about {grams} g/day for {years} years, started for {reason}. "
        "Withdrawal within hours of a missed dose: {symptoms}. Craving {craving}/10.",
        "{name} came in after {referral}. Uses kratom ({form}) about {grams} g/day; tried to stop twice alone "
        "and restarted because of {symptoms}. Craving {craving}/10.",
        "{name} says use has crept up over the last year to {grams} g/day ({form}). Sleep is poor, "
        "{symptoms} when late on a dose. Craving {craving}/10.",
    ),
    "early": (
        "{name} reports {days} days of use in the past 30, now about {grams} g/day on the taper schedule. "
        "Withdrawal: {symptoms}. Craving {craving}/10.",
        "Taper going slower than hoped; {days} use days in the last month, {grams} g/day. Bothered by "
        "{symptoms}. Craving {craving}/10.",
        "{name} is following the dosing plan. {days} days of use in 30, {grams} g/day. {symptoms_sentence} "
        "Craving {craving}/10, worst in the evening.",
    ),
    "late": (
        "{name} reports {days} days of use in the past 30 ({grams} g/day). {symptoms_sentence} "
        "Craving {craving}/10; using coping skills from group.",
        "Doing better at work. {days} use days in 30, {grams} g/day. {symptoms_sentence} Craving {craving}/10.",
        "{name} feels steadier; {days} days of use in the past month. Sleeping 6-7 hours. Craving {craving}/10.",
    ),
    "recovery": (
        "{name} reports no kratom use since the last visit. Craving {craving}/10. Attending mutual-help "
        "meetings weekly.",
        "No use. Craving {craving}/10, brief urges when stressed. Back to exercising most days.",
        "{name} reports {days} days of use in the past 30. Craving {craving}/10. Working, supportive family.",
    ),
    "relapse": (
        "{name} reports a return to use: {days} days in the past 30, about {grams} g/day. "
        "{symptoms_sentence} Craving {craving}/10.",
        "Back to using kratom ({form}) after a stressful month; {grams} g/day on {days} days. Craving {craving}/10.",
    ),
    "group": (
        "{name} attended group; shared about {topic}. Craving {craving}/10.",
        "Participated actively in group ({topic}). Reports {days} use days in the past 30.",
    ),
    "phone": (
        "Phone check-in. {name} reports {days} days of use in the past 30, craving {craving}/10.",
        "Brief call: doing okay, craving {craving}/10, no safety concerns.",
    ),
    "lab": ("Here for labs only.",),
}
GROUP_TOPICS: tuple[str, ...] = (
    "managing triggers at work", "sleep without kratom", "pain coping skills", "repairing trust at home",
    "handling cravings in the evening", "building a weekly routine", "relapse warning signs",
)  # fmt: skip
OBJECTIVE_IN_PERSON: tuple[str, ...] = (
    "BP {bp}, HR {hr}, weight {weight} kg. Alert, oriented, {affect}. {exam}",
    "Vitals: BP {bp}, HR {hr}, wt {weight} kg. {exam} Affect {affect}.",
)
OBJECTIVE_REMOTE: tuple[str, ...] = (
    "Video visit; patient at home, alert, {affect}. No acute distress.",
    "Telephone contact. Speech clear and coherent; {affect}.",
)
OBJECTIVE_LAB: tuple[str, ...] = (
    "Urine drug screen collected (observed). Liver panel drawn.",
    "Urine specimen collected for drug screen; blood drawn for liver panel.",
)
AFFECTS: tuple[str, ...] = (
    "euthymic",
    "mildly anxious",
    "calm and engaged",
    "tired but cooperative",
    "bright",
)
EXAMS: tuple[str, ...] = (
    "Pupils normal, no tremor or piloerection.",
    "Mild tremor, no yawning or rhinorrhea.",
    "Skin warm and dry, no diaphoresis.",
    "No signs of intoxication or acute withdrawal.",
)
ASSESSMENT_NOTES: dict[str, tuple[str, ...]] = {
    "pre": (
        "{icd} other substance (kratom) use disorder, {severity}; physiologic dependence.",
        "Kratom use disorder, {severity}, with withdrawal; motivated for treatment.",
    ),
    "early": (
        "Kratom use disorder, {severity}; early treatment, taper in progress.",
        "Withdrawal manageable; engaged in treatment.",
    ),
    "late": (
        "Kratom use disorder, {severity}; improving, use markedly reduced.",
        "Good progress toward plan goals.",
    ),
    "recovery": (
        "Kratom use disorder, {severity}, in remission in early recovery.",
        "Stable in recovery; low relapse risk today.",
    ),
    "relapse": (
        "Kratom use disorder, {severity}; recurrence of use.",
        "Return to use; re-engaged in treatment.",
    ),
}
PLAN_NOTES: dict[str, tuple[str, ...]] = {
    "pre": (
        "Complete DSM-5 checklist, PHQ-9 and GAD-7; urine drug screen and liver panel. Return in {weeks} week(s).",
        "Discussed taper versus buprenorphine. Labs today. Follow up in {weeks} week(s).",
    ),
    "early": (
        "Continue taper, reduce to {next_grams} g/day this week. Clonidine as needed for sweats. Return in "
        "{weeks} week(s).",
        "Continue weekly counseling and taper plan. Sleep hygiene reviewed. Return in {weeks} week(s).",
    ),
    "late": (
        "Continue counseling; relapse-prevention plan updated. Return in {weeks} week(s).",
        "Keep current plan; review goals next visit. Return in {weeks} week(s).",
    ),
    "recovery": (
        "Continue monthly recovery visits and group. Call sooner if cravings rise.",
        "Maintain plan; urine screen at next visit. Return in {weeks} week(s).",
    ),
    "relapse": (
        "Resume weekly visits; restart taper at {next_grams} g/day. Return in {weeks} week(s).",
        "Safety plan reviewed; increase visit frequency. Return in {weeks} week(s).",
    ),
    "lab": ("Results to be reviewed at the next visit.",),
}
ADDENDUM_TEXTS: tuple[str, ...] = (
    "Correction: weight recorded in pounds by mistake; intended value is in the vitals entry.",
    "Late entry: patient called after the visit to report a new prescription (sertraline 50 mg daily).",
    "Urine drug screen result received: negative for mitragynine and all other analytes tested.",
    "Urine drug screen result received: positive for mitragynine, consistent with reported use.",
    "Liver panel within normal limits.",
    "Clarification: taper target is per day, not per dose.",
    "Spoke with primary care; they will manage blood pressure follow-up.",
)

# --- Rare findings: how many patients (share of the clinic, and at least `minimum`) get each, and among
# patients whose current case stands in which stage (so the finding is recent enough to be on the worklist). ---


@dataclass(frozen=True)
class RareFinding:
    code: str
    stage: str
    share: float
    minimum: int


RARE_FINDINGS: tuple[RareFinding, ...] = (
    # A urine screen positive for fentanyl (contaminated pills or powder): about one patient in a hundred.
    RareFinding("fentanyl", "treatment", 0.01, 1),
    # PHQ-9 item 9 answered "several days" once: the suicide-risk alert, acknowledged with a safety plan.
    RareFinding("self_harm", "treatment", 0.01, 1),
    # Kratom-associated liver injury found on the intake labs: ALT above 3 x ULN, and rarely Hy's law.
    RareFinding("hys_law", "assessment", 0.005, 0),
    RareFinding("liver_injury", "assessment", 0.01, 1),
    # A seizure at home after a heavy kratom day (SPEC 3.6), and an overdose on a 7-OH product or pills that
    # turned out to hold fentanyl, reversed with naloxone and followed by an emergency-department visit.
    RareFinding("seizure", "treatment", 0.006, 1),
    RareFinding("overdose", "treatment", 0.006, 1),
    # Blood pressure or pulse too low on clonidine or lofexidine restarted for a hard week (alpha2_hypotension).
    RareFinding("alpha2_hypotension", "treatment", 0.006, 1),
)

# What the clinician writes down for a rare clinical event (SPEC 3.6): (kind, related_to_kratom, naloxone, text).
CLINICAL_EVENTS: dict[str, tuple[tuple[str, str, bool | None, str], ...]] = {
    "seizure": (
        (
            "seizure", "yes", None,
            "Generalised seizure at home, about two minutes, after taking about 40 g of kratom powder over the day; "
            "partner called 911. No prior seizures.",
        ),
        (
            "emergency_visit", "yes", None,
            "Taken to the emergency department by EMS after the seizure; CT head normal, sent home the same night.",
        ),
    ),
    "overdose": (
        (
            "overdose", "yes", True,
            "Found unresponsive with slow breathing after 7-OH tablets bought online; a friend gave two doses of "
            "nasal naloxone and he woke. Urine later positive for fentanyl at the ED.",
        ),
        (
            "emergency_visit", "unknown", None,
            "Observed four hours in the emergency department after the overdose; discharged with a naloxone kit.",
        ),
    ),
}  # fmt: skip
# SOWS (Handelsman 1987) is the patient's own rating, taken with COWS in the first weeks of treatment.
SOWS_WITH_COWS_SHARE = 0.7

# --- Assessments over time. ---

# Patients whose mood does not lift with treatment (PHQ-9 and GAD-7 stay about where they started).
MOOD_NON_RESPONDER_SHARE = 0.15
# COWS is repeated at in-person visits during the first clinic days of treatment (induction and taper).
COWS_TREATMENT_DAYS = 15

# --- Urine drug screens (codes are `cases.models.ANALYTES`). ---

# Visit types at which urine is collected (observed, in the clinic).
LAB_VISIT_TYPES = frozenset({"assessment", "lab_only", "individual_counseling", "medication_management"})
# Clinic days between screens, by stage (a lab-only visit always collects one).
SCREEN_GAP_DAYS: dict[str, tuple[int, int]] = {
    "assessment": (8, 14), "treatment": (8, 14), "recovery": (15, 30),
}  # fmt: skip
# Share of screens on which the lab reports each analyte (the rest are `not_tested`).
SCREEN_TESTED_SHARE: dict[str, float] = {
    "mitragynine": 1.0, "seven_oh_mitragynine": 0.65, "opioids": 0.97, "fentanyl": 0.93, "buprenorphine": 0.95,
    "methadone": 0.75, "benzodiazepines": 0.97, "amphetamines": 0.97, "cocaine": 0.95, "cannabinoids": 0.95,
    "alcohol": 0.6,
}  # fmt: skip
# Chance of a positive result on any screen, for analytes the patient's story does not explain.
SCREEN_BACKGROUND_POSITIVE: dict[str, float] = {
    "opioids": 0.012, "methadone": 0.002, "benzodiazepines": 0.02, "amphetamines": 0.01, "cocaine": 0.005,
    "cannabinoids": 0.05, "alcohol": 0.04,
}  # fmt: skip
# What the other substances a patient reports (OTHER_SUBSTANCES) make likely on a screen.
OTHER_SUBSTANCE_POSITIVE: dict[str, dict[str, float]] = {
    "Alcohol, weekends": {"alcohol": 0.3},
    "Alcohol, 2-3 drinks most evenings": {"alcohol": 0.7},
    "Cannabis, occasional": {"cannabinoids": 0.4},
    "Cannabis, daily": {"cannabinoids": 0.9},
    "Benzodiazepines, occasional, not prescribed": {"benzodiazepines": 0.3},
    "Methamphetamine, remote history": {"amphetamines": 0.04},
}

# --- Liver panels: the lab's upper limits of normal, and how far above or below them each kind of patient
# runs (multiples of the ULN, low-high for a uniform draw). ---

# (name, ALT ULN, AST ULN, ALP ULN, total bilirubin ULN, weight): the hospital lab and a reference lab.
LIVER_LABS: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("hospital", "40", "40", "120", "1.2", 75),
    ("reference", "33", "36", "126", "1.0", 25),
)
# Share of patients with a liver panel at intake, and of those in treatment who get a follow-up panel.
LIVER_BASELINE_SHARE = 0.85
LIVER_FOLLOW_UP_SHARE = 0.3
# Mildly raised enzymes (fatty liver, alcohol): below 3 x ULN, no alert.
LIVER_MILD_SHARE = 0.12
LIVER_STATES: dict[str, dict[str, tuple[float, float]]] = {
    "normal": {"alt": (0.25, 0.9), "ast": (0.4, 0.85), "alp": (0.35, 0.9), "bilirubin": (0.25, 0.85)},
    "mild": {"alt": (1.1, 2.6), "ast": (0.9, 2.0), "alp": (0.6, 1.2), "bilirubin": (0.35, 1.0)},
    # Kratom injury is often cholestatic or mixed (LiverTox): ALP at least twice its limit (the DILI criteria,
    # docs/clinical.md) with ALT up, bilirubin not yet twice the limit.
    "liver_injury": {"alt": (2.2, 6.0), "ast": (1.5, 4.5), "alp": (2.05, 3.6), "bilirubin": (0.9, 1.8)},
    # Potential Hy's law: hepatocellular, ALP below twice its limit.
    "hys_law": {"alt": (10.0, 18.0), "ast": (7.0, 14.0), "alp": (1.1, 1.9), "bilirubin": (2.6, 4.8)},
}
# Where a patient's enzymes stand at the follow-up panel, after stopping kratom: (state, weight) pairs.
LIVER_FOLLOW_UP: dict[str, tuple[tuple[str, int], ...]] = {
    "normal": (("normal", 95), ("mild", 5)),
    "mild": (("normal", 50), ("mild", 50)),
    "liver_injury": (("mild", 80), ("normal", 20)),
    "hys_law": (("liver_injury", 100),),
}

# --- Medications (codes are `cases.models.Medication.Name`). ---

# How a case is treated once it enters treatment, when a prescriber is on the care team.
TREATMENT_APPROACH_WEIGHTS: dict[str, int] = {"buprenorphine": 55, "withdrawal_medication": 30, "none": 15}
# Buprenorphine/naloxone sublingual film, daily dose (buprenorphine/naloxone).
BUPRENORPHINE_DOSES: dict[str, int] = {"8 mg/2 mg": 45, "12 mg/3 mg": 20, "16 mg/4 mg": 20, "4 mg/1 mg": 15}
BUPRENORPHINE_TITRATED_DOSES: dict[str, int] = {"12 mg/3 mg": 55, "16 mg/4 mg": 45}
# Symptomatic withdrawal medication for the first weeks: (medication, dose, frequency, weight).
WITHDRAWAL_MEDICATIONS: tuple[tuple[str, str, str, int], ...] = (
    ("clonidine", "0.1 mg", "every 6 hours as needed for withdrawal", 75),
    ("lofexidine", "0.54 mg", "four times daily", 25),
)
# Naltrexone once the taper is done: (medication, dose, frequency, weight).
NALTREXONE: tuple[tuple[str, str, str, int], ...] = (
    ("naltrexone_oral", "50 mg", "once daily", 70),
    ("naltrexone_er", "380 mg IM", "every 4 weeks", 30),
)
NALTREXONE_SHARE = 0.12
# Other medicines started in treatment: (name, dose, frequency, clinic days taken or 0 = ongoing, weight).
OTHER_MEDICATIONS: tuple[tuple[str, str, str, int, int], ...] = (
    ("Gabapentin", "300 mg", "three times daily", 20, 30),
    ("Trazodone", "50 mg", "at bedtime as needed for sleep", 30, 25),
    ("Hydroxyzine", "25 mg", "every 6 hours as needed for anxiety", 15, 20),
    ("Loperamide", "2 mg", "as needed for loose stools, at most 8 mg a day", 7, 10),
    ("Sertraline", "50 mg", "once daily", 0, 15),
)
OTHER_MEDICATION_SHARE = 0.15

# --- Treatment plans: goals by topic. Placeholders as in the notes. ---

GOALS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "kratom": (
        (
            "Daily kratom use ({grams} g/day of {form}) with withdrawal when late on a dose.",
            "Stop kratom use; no use for 8 consecutive weeks, confirmed by urine screens.",
            "Supervised taper or buprenorphine; weekly individual counseling; urine screens every 2-3 weeks.",
        ),
        (
            "Kratom use disorder, {severity}; unable to cut down alone.",
            "Reduce to zero use by the target date and stay abstinent.",
            "Taper schedule reviewed weekly; relapse-prevention group; craving log.",
        ),
    ),
    "kratom_return": (
        (
            "Return to kratom use after a period of abstinence.",
            "Regain abstinence within 4 weeks; identify what led to the return to use.",
            "Weekly visits again; relapse analysis; restart taper or medication as needed.",
        ),
    ),
    "withdrawal": (
        (
            "Withdrawal symptoms (sweats, aches, poor sleep) make stopping hard.",
            "Withdrawal manageable (COWS under 5) through the taper.",
            "COWS at each visit early on; comfort medication; sleep hygiene.",
        ),
    ),
    "mood": (
        (
            "Depressed mood (PHQ-9 in the moderate range) at intake.",
            "PHQ-9 under 10 and back to usual activities.",
            "Behavioral activation in counseling; PHQ-9 monthly; primary care for medication if no change.",
        ),
    ),
    "anxiety": (
        (
            "Anxiety that kratom was used to manage.",
            "Use two coping skills for anxiety instead of kratom; GAD-7 under 10.",
            "CBT skills in individual sessions; breathing practice; GAD-7 monthly.",
        ),
    ),
    "pain": (
        (
            "Chronic back pain that kratom was used to treat.",
            "Pain managed without kratom; able to work a full week.",
            "Referral to physical therapy; coordinate with primary care on non-opioid pain care.",
        ),
    ),
    "sleep": (
        (
            "Poor sleep since cutting down.",
            "Sleep 6 hours or more on most nights.",
            "Sleep hygiene plan; sleep diary reviewed at visits.",
        ),
    ),
    "relationships": (
        (
            "Conflict at home over kratom use.",
            "Rebuild trust with partner and family.",
            "Family session; communication skills in counseling.",
        ),
    ),
    "work": (
        (
            "Missed work and money spent on kratom.",
            "Keep steady work attendance and a budget without kratom spending.",
            "Problem-solving in counseling; budget worksheet.",
        ),
    ),
    "other_substance": (
        (
            "Other substance use ({other}) alongside kratom.",
            "Cut down other substance use and keep it out of the recovery plan's risks.",
            "Screening and brief intervention; urine screens; mutual-help meetings.",
        ),
    ),
    "liver": (
        (
            "Raised liver enzymes on the intake panel.",
            "Liver enzymes back within normal limits.",
            "Stop kratom; avoid alcohol and acetaminophen excess; repeat liver panel in 4-6 weeks.",
        ),
    ),
}
# Share of treated cases whose plan reviews lapse after the first one (plan review overdue alerts).
PLAN_REVIEW_LAPSE_SHARE = 0.12
# Clinic days between plan reviews, held at an individual, medication or telehealth visit.
PLAN_REVIEW_GAP_DAYS = (20, 40)
# Status of a goal (other than the kratom-use goal) by how the case stands: (status, weight) pairs.
GOAL_STATUS_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {
    "treatment": (("active", 75), ("met", 15), ("revised", 10)),
    "recovery": (("met", 55), ("active", 35), ("revised", 10)),
    "completed": (("met", 85), ("revised", 5), ("discontinued", 10)),
    "closed_early": (("discontinued", 75), ("met", 20), ("revised", 5)),
}

# --- Alerts: how the clinic's staff settle them (by alert kind). ---


@dataclass(frozen=True)
class AlertHandling:
    unhandled: float  # share left on the worklist however old
    # Acknowledged this long after being raised, or (None) at the patient's next visit.
    acknowledge_hours: tuple[float, float] | None
    resolve_share: float  # share later resolved
    resolve_days: tuple[float, float]  # resolved this long after being acknowledged
    acknowledge_notes: tuple[str, ...]
    resolve_notes: tuple[str, ...]


ALERT_HANDLING: dict[str, AlertHandling] = {
    "suicide_risk": AlertHandling(
        unhandled=0.0,
        acknowledge_hours=(0.3, 2.0),
        resolve_share=0.0,
        resolve_days=(0, 0),
        acknowledge_notes=(
            "Spoke with patient in person; C-SSRS screen: passive thoughts, no plan, intent or means. Safety "
            "plan written with patient; 988 and crisis line given. Follow-up call in 2 days.",
            "Assessed same day: fleeting thoughts, no plan or intent, protective factors (children, work). "
            "Safety plan completed; weekly PHQ-9; supervisor informed.",
        ),
        resolve_notes=(),
    ),
    "fentanyl_positive": AlertHandling(
        unhandled=0.0,
        acknowledge_hours=None,  # talked through with the patient at the next visit
        resolve_share=0.0,
        resolve_days=(0, 0),
        acknowledge_notes=(
            "Discussed result with patient: took pills bought as oxycodone. Overdose education, naloxone kit "
            "given; visits weekly.",
            "Patient reached by phone; denies knowing use, likely contaminated supply. Naloxone prescribed; "
            "repeat screen at next visit.",
        ),
        resolve_notes=(),
    ),
    "hypertensive_crisis": AlertHandling(
        unhandled=0.0,
        acknowledge_hours=(0.2, 1.0),
        resolve_share=1.0,
        resolve_days=(1, 7),
        acknowledge_notes=(
            "Repeat BP after 10 minutes still high; no chest pain, headache or vision change. Sent to primary "
            "care same day.",
            "No symptoms of end-organ damage; patient walked to the ED next door for evaluation.",
        ),
        resolve_notes=("Seen by primary care; medication adjusted, BP now under 140/90.",),
    ),
    "elevated_bp": AlertHandling(
        unhandled=0.2,
        acknowledge_hours=(4.0, 120.0),
        resolve_share=0.25,
        resolve_days=(7, 30),
        acknowledge_notes=(
            "Known hypertension; letter sent to primary care. Recheck at next visit.",
            "Likely withdrawal-related; recheck after taper. Advised home BP log.",
            "Discussed with patient; appointment made with primary care.",
        ),
        resolve_notes=(
            "BP back under 140/90 on two visits.",
            "Primary care started amlodipine; BP controlled.",
        ),
    ),
    "liver_injury": AlertHandling(
        unhandled=0.0,
        acknowledge_hours=(4.0, 72.0),
        resolve_share=0.3,
        resolve_days=(14, 40),
        acknowledge_notes=(
            "Advised to stop kratom completely and avoid alcohol and acetaminophen. Repeat panel in 1 week; "
            "hepatology referral sent.",
            "Discussed with supervising physician: no jaundice or pain; repeat LFTs in 5-7 days.",
        ),
        resolve_notes=("Repeat liver panel improving; continue monitoring.",),
    ),
    "hys_law": AlertHandling(
        unhandled=0.0,
        acknowledge_hours=(0.2, 4.0),
        resolve_share=0.3,
        resolve_days=(14, 40),
        acknowledge_notes=(
            "Potential Hy's law discussed with supervising physician the same day: kratom stopped, INR and repeat "
            "panel ordered, urgent hepatology referral.",
            "Patient called in; no confusion or bleeding. Sent for same-day INR and hepatic panel; hepatology "
            "consulted.",
        ),
        resolve_notes=(
            "Bilirubin back under 2 x ULN and ALT falling on repeat panels; continue monitoring.",
        ),
    ),
    "alpha2_hypotension": AlertHandling(
        unhandled=0.0,
        acknowledge_hours=(0.2, 3.0),
        resolve_share=0.8,
        resolve_days=(1, 7),
        acknowledge_notes=(
            "Orthostatic vitals checked: lightheaded on standing, no syncope. Next dose held, then reduced by one "
            "tablet; fluids and slow rising advised.",
            "Patient asymptomatic at rest; evening dose skipped. Vitals recheck tomorrow before dosing.",
        ),
        resolve_notes=(
            "Vitals back in range on the lower dose.",
            "Taper completed; pressure and pulse normal off the medication.",
        ),
    ),
    "return_to_use": AlertHandling(
        unhandled=0.05,
        acknowledge_hours=None,  # talked through with the patient at the next visit
        resolve_share=0.0,
        resolve_days=(0, 0),
        acknowledge_notes=(
            "Discussed with patient: used after a stressful week. Relapse-prevention plan reviewed; visits "
            "weekly for a month.",
            "Patient disclosed a lapse; no return to daily use. Coping plan updated; repeat screen in two weeks.",
        ),
        resolve_notes=(),
    ),
    "seizure": AlertHandling(
        unhandled=0.0,
        acknowledge_hours=(0.2, 2.0),
        resolve_share=0.7,
        resolve_days=(3, 21),
        acknowledge_notes=(
            "Called patient the same day: seen in the ED, no further seizures. Kratom and 7-OH stopped; neurology "
            "referral made; no driving advised.",
            "Reviewed ED notes: no prior seizures, high-dose kratom the day before. Referred to neurology.",
        ),
        resolve_notes=("Seen by neurology; no further seizures on follow-up.",),
    ),
    "overdose": AlertHandling(
        unhandled=0.0,
        acknowledge_hours=(0.2, 2.0),
        resolve_share=0.5,
        resolve_days=(7, 30),
        acknowledge_notes=(
            "Reached patient after the ED discharge: naloxone kit replaced, household trained; buprenorphine "
            "induction discussed.",
            "Overdose reviewed with patient and partner; naloxone kit given; visits twice weekly.",
        ),
        resolve_notes=("Stable on buprenorphine; no further overdose.",),
    ),
    "withdrawal_moderate": AlertHandling(
        unhandled=0.05,
        acknowledge_hours=(0.2, 4.0),
        resolve_share=0.9,
        resolve_days=(1, 5),
        acknowledge_notes=(
            "Comfort medication given; reassessed before leaving.",
            "Induction started per protocol; patient comfortable at the end of the visit.",
        ),
        resolve_notes=(
            "Withdrawal settled; COWS mild at follow-up.",
            "Symptoms eased on the taper schedule.",
        ),
    ),
    "engagement_risk": AlertHandling(
        unhandled=0.15,
        acknowledge_hours=(8.0, 96.0),
        resolve_share=0.7,
        resolve_days=(2, 14),
        acknowledge_notes=(
            "Called patient, left voicemail; outreach letter sent.",
            "Reached patient by text; transport problems, rescheduled.",
        ),
        resolve_notes=(
            "Patient back in care; attended the rescheduled visit.",
            "Reached patient; visits rescheduled.",
        ),
    ),
    "plan_review_overdue": AlertHandling(
        unhandled=0.2,
        acknowledge_hours=(24.0, 96.0),
        resolve_share=0.0,
        resolve_days=(0, 0),
        acknowledge_notes=("Plan review booked for the next individual session.",),
        resolve_notes=(),
    ),
}
ALERT_DISCHARGE_NOTE = "Case discharged; follow-up handed over in the discharge plan."
