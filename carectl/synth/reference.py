"""Built-in reference data for the synthetic population: names, places, organisations, codes.

Every name here is invented and obviously synthetic. Codes are public (ICD-10-CM, CPT/HCPCS,
revenue codes, HL7 tables); descriptions are short working labels, not the official texts.
A few family names deliberately contain HL7 delimiter characters so that the escaping of
every consumer is exercised; the X12 writer drops those characters (X12 has no escapes).
"""

from __future__ import annotations

from dataclasses import dataclass

GIVEN_F: tuple[str, ...] = (
    "Ada", "Beatrix", "Clara", "Dora", "Edith", "Flora", "Greta", "Hazel", "Ida", "June",
    "Kora", "Lena", "Mabel", "Nora", "Olive", "Pearl", "Quinn", "Rosa", "Stella", "Tess",
    "Una", "Vera", "Wren", "Xena", "Yara", "Zelda",
)
GIVEN_M: tuple[str, ...] = (
    "Abel", "Bruno", "Cyrus", "Dario", "Emil", "Felix", "Gus", "Hugo", "Ivo", "Jasper",
    "Kurt", "Leon", "Milo", "Nico", "Otto", "Pavel", "Quentin", "Rufus", "Silas", "Tobias",
    "Ugo", "Viggo", "Walt", "Xavi", "Yuri", "Zeno",
)
FAMILY: tuple[str, ...] = (
    "Synthwood", "Testfield", "Samplebury", "Mockridge", "Fauxley", "Dummerton", "Placeholder",
    "Fictiva", "Pseudoni", "Madeupson", "Notreal", "Simulacra", "Stubbins", "Fixtureman",
    "Fakenham", "Generato", "Randomore", "Seedling", "Modelton", "Protofer", "Examplar",
    "Mockingbird", "Testudo", "Sampleton", "Cardboard", "Strawman", "Lorem", "Ipsumson",
    "Dolorsit", "Ametson",
)
# Rare names that carry HL7 delimiters (| ^ & ~ \): exercise escaping end to end.
FAMILY_DELIMITED: tuple[str, ...] = (
    "Amp&Synth", "Caret^Test", "Pipe|Sample", "Tilde~Mock", "Back\\Slash",
)

CITIES: tuple[tuple[str, str, str], ...] = (
    ("Synthville", "MO", "63001"), ("Testburg", "MO", "63011"), ("Mocktown", "IL", "62201"),
    ("Samplecity", "MO", "63101"), ("Fauxport", "IL", "62040"), ("Lorem Falls", "MO", "63301"),
)
STREETS: tuple[str, ...] = ("Synthetic St", "Test Ave", "Sample Rd", "Mock Ln", "Example Blvd")


@dataclass(frozen=True, slots=True)
class Hospital:
    authority: str          # assigning authority of its MRNs and MSH-4 sending facility
    name: str
    npi: str
    application: str        # MSH-3 sending application
    units: tuple[str, ...]  # inpatient points of care (PV1-3.1)
    mrn_prefix: str


@dataclass(frozen=True, slots=True)
class Practice:
    practice_id: str
    name: str
    npi: str                        # group (billing) NPI
    tax_id: str
    providers: tuple[tuple[str, str, str], ...]   # (npi, family, given)
    hospitalist_group: str
    pod: str
    home_hospital: int              # index into the hospital list


def luhn_npi(base9: int) -> str:
    """A syntactically valid NPI: nine digits plus the Luhn check digit over the 80840 prefix."""
    digits = f"{base9:09d}"
    total = 24  # the constant contribution of the "80840" prefix
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return digits + str((10 - total % 10) % 10)


HOSPITAL_SPECS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "MERCY": ("Mercy Synthetic Hospital", "EPICADT", ("4W", "5E", "3N", "ICU", "TELE"), ""),
    "STLUKE": ("St Luke Test Medical Center", "CERNER", ("2A", "2B", "MICU", "ORTHO"), "L"),
    "GENERAL": ("General Sample Hospital", "MEDITECH", ("MED1", "MED2", "SURG", "CCU"), "G"),
    "VALLEY": ("Valley Mock Regional", "EPICADT", ("WEST", "EAST", "ICU"), "V"),
    "RIVERSIDE": ("Riverside Placeholder Hospital", "CERNER", ("R3", "R4", "RICU"), "R"),
    "NORTHGATE": ("Northgate Fictiva Hospital", "MEDITECH", ("N1", "N2", "NICU"), "N"),
}

HOSPITALIST_GROUPS: tuple[str, ...] = ("HG-NORTH", "HG-SOUTH", "HG-EAST", "HG-WEST")
PODS: tuple[str, ...] = ("pod-east", "pod-west", "pod-north", "pod-south", "pod-central")


def make_hospitals(authorities: tuple[str, ...]) -> tuple[Hospital, ...]:
    out = []
    for i, auth in enumerate(authorities):
        name, app, units, prefix = HOSPITAL_SPECS.get(
            auth, (f"{auth.title()} Synthetic Hospital", "HIS", ("MED", "SURG", "ICU"), ""))
        out.append(Hospital(auth, name, luhn_npi(170000000 + i * 1013), app, units, prefix))
    return tuple(out)


def make_practices(count: int, hospital_count: int) -> tuple[Practice, ...]:
    out = []
    for i in range(count):
        pid = f"P{i + 1:03d}"
        providers = tuple(
            (luhn_npi(150000000 + i * 100 + k), FAMILY[(i * 3 + k) % len(FAMILY)],
             GIVEN_F[(i + k) % len(GIVEN_F)] if (i + k) % 2 else GIVEN_M[(i + k) % len(GIVEN_M)])
            for k in range(2 + i % 3)
        )
        out.append(Practice(
            practice_id=pid,
            name=f"Synthetic Family Medicine {i + 1:02d}",
            npi=luhn_npi(140000000 + i * 7),
            tax_id=f"{830000000 + i * 11:09d}",
            providers=providers,
            hospitalist_group=HOSPITALIST_GROUPS[i % len(HOSPITALIST_GROUPS)],
            pod=PODS[i % len(PODS)],
            home_hospital=i % hospital_count,
        ))
    return tuple(out)


# Hospitalists, ED physicians and specialists who bill professional claims.
HOSPITALIST_NPI = luhn_npi(160000001)
ED_GROUP_NPI = luhn_npi(160000019)
ED_PHYSICIAN_NPI = luhn_npi(160000027)
GI_GROUP_NPI = luhn_npi(160000035)
GI_PHYSICIAN_NPI = luhn_npi(160000043)
IMAGING_NPI = luhn_npi(160000051)
ATTENDINGS: tuple[tuple[str, str, str], ...] = (
    (luhn_npi(161000001), "Osler", "Wilma"), (luhn_npi(161000002), "Lister", "Jon"),
    (luhn_npi(161000003), "Nightly", "Flo"), (luhn_npi(161000004), "Hippo", "Crates"),
)

# Contracts (ids match the billing service's example contracts) and their payers.
CONTRACT_MA = "MMO-2026"
CONTRACT_COMMERCIAL = "GR-2026"
PAYERS: dict[str, tuple[str, str, str]] = {
    # contract -> (payer id, payer name, SBR09 claim filing indicator)
    CONTRACT_MA: ("MMOHP", "Synthetic Medicare Advantage Plan", "16"),
    CONTRACT_COMMERCIAL: ("GRHP", "Sample Group Health Plan", "CI"),
}

# --- diagnoses (ICD-10-CM, stored without the dot; dotted form only for display) --------
DIABETES = ("E119", "E1165", "E1122", "E1140")
HYPERTENSION = "I10"
OBESITY = ("E669", "E6601", "E66811", "E66812", "E66813")
CKD = ("N182", "N1830", "N1831", "N1832", "N184", "N185", "N186")
CKD_WEIGHTS = (10, 25, 25, 20, 12, 4, 4)
CHF = "I509"
COPD = "J449"
SOCIAL = ("Z5941", "Z5982", "Z5986", "Z560", "Z602", "Z5900", "Z556", "Z5912")
COLORECTAL_CANCER = "C189"
BILATERAL_MASTECTOMY = "Z9013"

# Inpatient principal diagnoses: (code, description, elective?)
ADMIT_DX: tuple[tuple[str, str, bool], ...] = (
    ("J189", "Pneumonia, unspecified organism", False),
    ("I509", "Heart failure, unspecified", False),
    ("A419", "Sepsis, unspecified organism", False),
    ("N390", "Urinary tract infection, site not specified", False),
    ("J441", "COPD with acute exacerbation", False),
    ("I214", "NSTEMI", False),
    ("I639", "Cerebral infarction, unspecified", False),
    ("E1165", "Type 2 diabetes with hyperglycemia", False),
    ("K3580", "Acute appendicitis", False),
    ("R112", "Nausea & vomiting", False),
    ("M1711", "Primary osteoarthritis, right knee", True),
    ("M1612", "Primary osteoarthritis, left hip", True),
)
ADMIT_DX_WEIGHTS = (14, 12, 10, 9, 8, 6, 5, 5, 4, 4, 8, 5)
ED_DX: tuple[tuple[str, str], ...] = (
    ("R079", "Chest pain, unspecified"), ("R109", "Abdominal pain, unspecified"),
    ("S93401A", "Sprain of right ankle, initial"), ("J069", "Acute upper respiratory infection"),
    ("N390", "Urinary tract infection"), ("R519", "Headache, unspecified"),
    ("S0181XA", "Laceration of face, initial"), ("R112", "Nausea & vomiting"),
    ("M545", "Low back pain"), ("R42", "Dizziness and giddiness"),
)
DX_TEXT: dict[str, str] = {
    "E119": "Type 2 diabetes without complications", "E1165": "Type 2 diabetes with hyperglycemia",
    "E1122": "Type 2 diabetes with diabetic CKD", "E1140": "Type 2 diabetes with neuropathy",
    "I10": "Essential hypertension", "I509": "Heart failure, unspecified",
    "J449": "COPD, unspecified", "N186": "End stage renal disease",
}

# --- procedures ----------------------------------------------------------------------
# fee schedule: allowed amount in cents (charge is a markup of it)
FEES: dict[str, int] = {
    "99212": 5800, "99213": 9200, "99214": 13100, "99215": 18400, "99203": 11000, "99204": 16800,
    "99385": 18000, "99386": 19500, "99387": 21000, "99395": 16000, "99396": 17200, "99397": 18500,
    "G0438": 17500, "G0439": 13000, "99495": 20100, "99496": 27200,
    "99283": 7400, "99284": 12400, "99285": 17600,
    "99223": 21000, "99232": 8200, "99233": 11800, "99238": 7600,
    "83036": 1300, "80053": 1050, "85025": 800, "80061": 1350, "36415": 300,
    "90686": 2100, "G0008": 3100, "81002": 350,
    "45378": 41000, "45380": 49000, "G0121": 41000, "G0105": 41000, "82274": 1700, "G0328": 1700,
    "81528": 50900, "77067": 13500, "77063": 5400,
    "3044F": 0, "3051F": 0, "3052F": 0, "3046F": 0,
    "3074F": 0, "3075F": 0, "3077F": 0, "3078F": 0, "3079F": 0, "3080F": 0,
}
CPT2_HBA1C = ("3044F", "3051F", "3052F", "3046F")          # <7, 7-<8, 8-9, >9
CPT2_SYSTOLIC = ("3074F", "3075F", "3077F")                 # <130, 130-139, >=140
CPT2_DIASTOLIC = ("3078F", "3079F", "3080F")                # <80, 80-89, >=90

# HL7 table 0112 discharge dispositions and their shares among inpatient discharges
DISPOSITIONS = ("01", "06", "03", "62", "07", "20")
DISPOSITION_WEIGHTS = (70, 14, 9, 3, 1.5, 2.5)

# --- who bills and renders (for X12 NM1/N3/N4/REF) --------------------------------------
@dataclass(frozen=True, slots=True)
class Organisation:
    name: str
    street: str
    city: str
    state: str
    zip9: str
    tax_id: str


SUBMITTER = ("SYNTHETIC CLEARINGHOUSE", "SYNCLR")
RECEIVER = ("CARE COORDINATION PLATFORM", "CCP")


def organisations(hospitals: tuple[Hospital, ...], practices: tuple[Practice, ...]) -> dict[str, Organisation]:
    out: dict[str, Organisation] = {}
    for i, h in enumerate(hospitals):
        city, state, zipc = CITIES[i % len(CITIES)]
        out[h.npi] = Organisation(h.name, f"{100 + i} Hospital Dr", city, state, zipc + "1001", f"{740000000 + i:09d}")
    for i, p in enumerate(practices):
        city, state, zipc = CITIES[i % len(CITIES)]
        out[p.npi] = Organisation(p.name, f"{200 + i} Clinic Way", city, state, zipc + "2002", p.tax_id)
    for npi, name, tin in ((HOSPITALIST_NPI, "Synthetic Hospitalist Group", "750000001"),
                           (ED_GROUP_NPI, "Sample Emergency Physicians", "750000002"),
                           (GI_GROUP_NPI, "Mock Gastroenterology Associates", "750000003"),
                           (IMAGING_NPI, "Testfield Imaging Center", "750000004")):
        out[npi] = Organisation(name, "1 Provider Plaza", "Synthville", "MO", "630013003", tin)
    return out


def clinicians(practices: tuple[Practice, ...]) -> dict[str, tuple[str, str]]:
    """NPI -> (family, given) of every person who renders or attends."""
    out: dict[str, tuple[str, str]] = {npi: (fam, giv) for npi, fam, giv in ATTENDINGS}
    for p in practices:
        for npi, fam, giv in p.providers:
            out[npi] = (fam, giv)
    out[ED_PHYSICIAN_NPI] = ("Triage", "Tess")
    out[GI_PHYSICIAN_NPI] = ("Scope", "Colin")
    return out
