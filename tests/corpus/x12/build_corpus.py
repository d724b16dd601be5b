"""Writes the X12 837 corpus (``tests/corpus/x12/*.x12``) and ``SOURCES.md`` from ``MANIFEST.yaml``.

Every file is written here, for synthetic people (names, member ids, birth dates invented;
NPIs pass the Luhn check but belong to nobody in particular), reproducing a quirk observed in a
public source that the manifest names - no other project's file is copied. The files are
committed; ``tests/unit/intake/test_x12_corpus_files.py`` checks they are what this script writes.

    .venv/bin/python tests/corpus/x12/build_corpus.py          # rewrite the files
    .venv/bin/python tests/corpus/x12/build_corpus.py --check  # exit 1 when a file differs
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
NPIS = ["1836044507", "1342852492", "1995609645", "1481218216", "1926702063", "1993075054", "1875142121",
        "1711407456", "1234567893"]


# ------------------------------------------------------------------------------ the content
@dataclass
class Line:
    code: str  # SV101-2 (837P) or the HCPCS of SV202 (837I; "" for revenue code only)
    charge: str = "100"
    day: str = "20260302"  # D8, or "CCYYMMDD-CCYYMMDD" (RD8)
    modifiers: tuple[str, ...] = ()
    units: str = "1"
    unit: str = "UN"
    pointers: str = "1"
    revenue: str = "0510"  # 837I SV201
    extra: list[str] = field(default_factory=list)  # segments after DTP*472
    sv1_tail: str = ""  # extra text appended to SV1 (description components, ...)


@dataclass
class Claim:
    claim_id: str
    lines: list[Line]
    dx: list[tuple[str, str]] = field(default_factory=lambda: [("ABK", "Z0000")])
    pos: str = "11"  # 837P CLM05-1; 837I the facility code
    freq: str = "1"
    f8: str | None = None
    before_hi: list[str] = field(default_factory=list)  # DTP / REF / NTE ... (2300, before HI)
    after_hi: list[str] = field(default_factory=list)  # HI (more), HCP, 2310 providers
    cob: list[str] = field(default_factory=list)  # 2320 / 2330 loops
    rendering: str | None = NPIS[1]
    hi: str | None = None  # an HI segment written as is (instead of ``dx``)
    total: str | None = None
    # 837I
    statement: str = "20260302-20260302"
    admit: str | None = None  # DTP*435 DT value
    cl1: str = "1*1*01"


@dataclass
class Dependent:
    last: str
    first: str
    dob: str
    sex: str = "F"
    qc_id: str | None = None  # NM1*QC NM109 (not used in 5010; a 4010 habit)


@dataclass
class Subscriber:
    member: str
    last: str
    first: str
    dob: str
    claims: list[Claim]
    sex: str = "F"
    payer: str = "SHP01"
    dependent: Dependent | None = None


def _provider(hl: int, npi: str = NPIS[0], name: str = "RIVERBEND FAMILY HEALTH") -> list[str]:
    return [f"HL*{hl}**20*1", "PRV*BI*PXC*207Q00000X", f"NM1*85*2*{name}*****XX*{npi}",
            "N3*400 SAMPLE AVENUE", "N4*SPRINGFIELD*IL*627010000", "REF*EI*371234567"]


def _subscriber(hl: int, parent: int, s: Subscriber, institutional: bool) -> list[str]:
    rel = "" if s.dependent else "18"
    segs = [f"HL*{hl}*{parent}*22*{1 if s.dependent else 0}", f"SBR*P*{rel}*GRP100******{'MC' if institutional else 'CI'}",
            f"NM1*IL*1*{s.last}*{s.first}****MI*{s.member}"]
    if not s.dependent:
        segs += ["N3*12 EXAMPLE LANE", "N4*SPRINGFIELD*IL*627040000", f"DMG*D8*{s.dob}*{s.sex}"]
    segs.append(f"NM1*PR*2*SAMPLE HEALTH PLAN*****PI*{s.payer}")
    return segs


def _dependent(hl: int, parent: int, d: Dependent) -> list[str]:
    qc = f"NM1*QC*1*{d.last}*{d.first}" + (f"****MI*{d.qc_id}" if d.qc_id else "")
    return [f"HL*{hl}*{parent}*23*0", "PAT*19", qc, "N3*12 EXAMPLE LANE", "N4*SPRINGFIELD*IL*627040000",
            f"DMG*D8*{d.dob}*{d.sex}"]


def _dtp(qual: str, day: str) -> str:
    return f"DTP*{qual}*{'RD8' if '-' in day else 'D8'}*{day}"


def _total(c: Claim) -> str:
    if c.total is not None:
        return c.total
    cents = sum(round(float(ln.charge) * 100) for ln in c.lines)
    return f"{cents // 100}" if cents % 100 == 0 else f"{cents / 100:.2f}"


def _hi(c: Claim) -> str:
    return c.hi or "HI*" + "*".join(f"{q}:{code}" for q, code in c.dx)


def _professional_claim(c: Claim) -> list[str]:
    segs = [f"CLM*{c.claim_id}*{_total(c)}***{c.pos}:B:{c.freq}*Y*A*Y*Y", *c.before_hi]
    if c.f8:
        segs.append(f"REF*F8*{c.f8}")
    segs.append(_hi(c))
    segs += c.after_hi
    if c.rendering:
        segs.append(f"NM1*82*1*PRACTITIONER*PAT****XX*{c.rendering}")
    segs += c.cob
    for n, ln in enumerate(c.lines, 1):
        proc = ":".join(("HC", ln.code) + ln.modifiers) + ln.sv1_tail
        segs += [f"LX*{n}", f"SV1*{proc}*{ln.charge}*{ln.unit}*{ln.units}***{ln.pointers}", _dtp("472", ln.day),
                 *ln.extra]
    return segs


def _institutional_claim(c: Claim) -> list[str]:
    segs = [f"CLM*{c.claim_id}*{_total(c)}***{c.pos}:A:{c.freq}**A*Y*Y"]
    if c.admit:
        segs.append(f"DTP*435*DT*{c.admit}")
    segs.append(f"DTP*434*RD8*{c.statement}")
    segs.append(f"CL1*{c.cl1}")
    segs += c.before_hi
    if c.f8:
        segs.append(f"REF*F8*{c.f8}")
    segs.append(_hi(c))
    segs += c.after_hi
    segs.append(f"NM1*71*1*ATTENDING*PAT****XX*{c.rendering or NPIS[2]}")
    segs += c.cob
    for n, ln in enumerate(c.lines, 1):
        proc = ("*HC:" + ":".join((ln.code,) + ln.modifiers)) if ln.code else "*"
        segs += [f"LX*{n}", f"SV2*{ln.revenue}{proc}*{ln.charge}*{ln.unit}*{ln.units}", _dtp("472", ln.day),
                 *ln.extra]
    return segs


def transaction_set(control: str, version: str, subscribers: list[Subscriber], *, bht_time: str = "1030",
                    bht_date: str = "20260312", hl_start: int = 1, bht06: str = "CH", se_count: int | None = None,
                    provider_npi: str = NPIS[0], header_extra: list[str] | None = None) -> list[str]:
    institutional = "X223" in version
    segs = [f"ST*837*{control}*{version}", f"BHT*0019*00*{control}REF*{bht_date}*{bht_time}*{bht06}",
            "NM1*41*2*EXAMPLE CLEARINGHOUSE*****46*CH4410", "PER*IC*EDI DESK*TE*5555550100",
            "NM1*40*2*CARE PLATFORM*****46*CCP0001", *(header_extra or [])]
    hl = hl_start
    provider = hl
    segs += _provider(hl, provider_npi, "RIVERBEND COMMUNITY HOSPITAL" if institutional else "RIVERBEND FAMILY HEALTH")
    for s in subscribers:
        hl += 1
        sub_hl = hl
        segs += _subscriber(hl, provider, s, institutional)
        if s.dependent:
            hl += 1
            segs += _dependent(hl, sub_hl, s.dependent)
        for c in s.claims:
            segs += _institutional_claim(c) if institutional else _professional_claim(c)
    segs.append(f"SE*{se_count if se_count is not None else len(segs) + 1}*{control}")
    return segs


def isa(control: int, *, ele: str = "*", sub: str = ":", rep: str = "^", version: str = "00501", usage: str = "T",
        auth: str = "          ", sec: str = "          ", sender: str = "CLEARHOUSE01   ",
        receiver: str = "CAREPLATFORM   ", auth_qual: str = "00") -> str:
    parts = ["ISA", auth_qual, auth, "00", sec, "ZZ", sender, "ZZ", receiver, "260312", "1030", rep, version,
             f"{control:09d}", "0", usage, sub]
    return ele.join(parts)


def interchange(control: int, groups: list[tuple[str, list[list[str]]]], *, isa_text: str | None = None,
                gs01: str = "HC", iea_control: int | None = None, gs_controls: list[int] | None = None) -> list[str]:
    """ISA, one GS per (version, [transaction sets]), GE, IEA with correct counts."""
    segs = [isa_text or isa(control)]
    for i, (version, sets) in enumerate(groups):
        gctl = (gs_controls or [control * 10 + i + 1 for i in range(len(groups))])[i]
        segs.append(f"GS*{gs01}*CLEARHOUSE01*CAREPLATFORM*20260312*1030*{gctl}*X*{version}")
        for st in sets:
            segs += st
        segs.append(f"GE*{len(sets)}*{gctl}")
    segs.append(f"IEA*{len(groups)}*{(iea_control if iea_control is not None else control):09d}")
    return segs


def text(segments: list[str], term: str = "~\n") -> str:
    return "".join(s + term for s in segments)


def other_components(segments: list[str]) -> str:
    """Composites written with '>' while the ISA16 declares ':'."""
    return text([s if s.startswith("ISA") else s.replace(":", ">") for s in segments])


# ------------------------------------------------------------------------------ people
def person(n: int, **kw) -> Subscriber:
    lasts = ["ALDERWICK", "BRAMBLETON", "COPPERFIELD", "DUNMORROW", "EVERSHOLT", "FARNABY", "GLENWORTH",
             "HOLLOWAY", "IVERSTONE", "JUNIPERO", "KESTRELL", "LANTHORNE"]
    firsts = ["MARISOL", "OTTILIE", "PERCIVAL", "QUENTINA", "ROSALIND", "SEBASTIAN", "THEODORA", "ULRIKA"]
    base = dict(member=f"CRP{n:06d}", last=lasts[n % len(lasts)], first=firsts[n % len(firsts)],
                dob=f"19{50 + n % 40:02d}{1 + n % 12:02d}{1 + n % 27:02d}", claims=[])
    base.update(kw)
    return Subscriber(**base)


def office(claim_id: str, day: str = "20260302", **kw) -> Claim:
    return Claim(claim_id, [Line("99214", "150", day, ("25",), pointers="1:2"), Line("3044F", "0", day)],
                 dx=[("ABK", "E119"), ("ABF", "I10")], **kw)


# ------------------------------------------------------------------------------ the files
def build() -> dict[str, str]:
    files: dict[str, str] = {}
    A1, A2, I2, I3, I1 = "005010X222A1", "005010X222A2", "005010X223A2", "005010X223A3", "005010X223A1"

    # 01 X222A2 ambulance claim (QTY, NTE, CR1 segments)
    amb = Claim("AMB26001", [Line("A0427", "700", "20260305", ("RH",), pointers="1:2",
                                   extra=["QTY*PT*2", "NTE*ADD*CARDIAC TRANSPORT"]),
                              Line("A0425", "82.40", "20260305", ("RH",), units="12", pointers="1:2")],
                dx=[("ABK", "R0789"), ("ABF", "I10")], pos="41", before_hi=["CR1*LB*180**A*DH*12****PATIENT ON STRETCHER"])
    files["01-p-x222a2-ambulance.x12"] = text(interchange(101, [(A2, [transaction_set(
        "0001", A2, [person(1, claims=[amb])])])], isa_text=isa(101, auth_qual="03", auth="9876543210",
                                                                sec="9876543210")))

    # 02 X223A3 inpatient: occurrence / value / condition codes, RD8 statement, DT admission
    ip = Claim("IP26002", [Line("", "2400", "20260310-20260313", revenue="0120", units="3", unit="DA"),
                          Line("83036", "45", "20260311", revenue="0300")],
               dx=[("ABK", "I5023")], pos="11", statement="20260310-20260313", admit="202603100815", cl1="1*7*01",
               after_hi=["HI*ABF:E119*ABF:I10", "HI*BH:11:D8:20260309*BH:A1:D8:19590417", "HI*BE:80:::3",
                         "HI*BG:39"])
    files["02-i-x223a3-inpatient-codes.x12"] = text(interchange(102, [(I3, [transaction_set(
        "0001", I3, [person(2, claims=[ip], sex="M")])])]))

    # 03 X223A3 two subscribers under one billing provider
    op1 = Claim("OP26031", [Line("99284", "610", "20260304", revenue="0450")], dx=[("ABK", "R079")], pos="13")
    op2 = Claim("OP26032", [Line("71046", "180", "20260306", revenue="0324")], dx=[("ABK", "J189")], pos="13")
    files["03-i-x223a3-two-subscribers.x12"] = text(interchange(103, [(I3, [transaction_set(
        "0001", I3, [person(3, claims=[op1]), person(4, claims=[op2], sex="M")])])]))

    # 04 composites written with '>' although ISA16 declares ':'
    files["04-p-component-separator-mismatch.x12"] = other_components(interchange(104, [(A2, [transaction_set(
        "0001", A2, [person(5, claims=[office("MM26004")])])])]))

    # 05 837I with '>' composites and HCP repricing, X223A2
    rep = Claim("RP26005", [Line("92557", "178", "20260306", revenue="0471", extra=["HCP*03*137.06*40.94"])],
                dx=[("ABK", "H9190")], pos="13", after_hi=["HCP*03*137.06*40.94*123456789"])
    files["05-i-component-separator-mismatch-repriced.x12"] = other_components(interchange(105, [(I2, [
        transaction_set("0001", I2, [person(6, claims=[rep])])])]))

    # 06 a dependent patient (2000C) without an id of their own, next to a subscriber's own claim
    dep = person(7, claims=[office("DP26061")], dependent=Dependent("ALDERWICK", "TAMSIN", "20150611"))
    files["06-p-dependent-patient-2000c.x12"] = text(interchange(106, [(A1, [transaction_set(
        "0001", A1, [dep, person(8, claims=[office("DP26062")])])])]))

    # 07 dependent patient with the 4010-style NM1*QC member id
    dep2 = person(9, claims=[office("DQ26071")], dependent=Dependent("BRAMBLETON", "ODALYS", "20120902",
                                                                      qc_id="CRP000909"))
    files["07-p-dependent-with-patient-id.x12"] = text(interchange(107, [(A1, [transaction_set(
        "0001", A1, [dep2])])]))

    # 08 secondary claim with COB: 2320 SBR/CAS/AMT/OI, 2330A/B, 2430 SVD/CAS/DTP*573
    cob = ["SBR*S*01*******CI", "CAS*PR*1*21.89**2*15", "AMT*D*39.15", "OI***Y*P**Y",
           "NM1*IL*1*COPPERFIELD*ANSEL****MI*OTH55512", "N3*12 EXAMPLE LANE", "N4*SPRINGFIELD*IL*627040000",
           "NM1*PR*2*OTHER SAMPLE PLAN*****PI*OSP77"]
    sec = Claim("CB26008", [Line("99213", "43", "20260303", pointers="1:2",
                                 extra=["SVD*OSP77*40*HC:99213**1", "CAS*CO*42*3", "DTP*573*D8*20260310"])],
                dx=[("ABK", "E119"), ("ABF", "I10")], cob=cob)
    files["08-p-cob-secondary-adjudicated.x12"] = text(interchange(108, [(A2, [transaction_set(
        "0001", A2, [person(10, claims=[sec])])])]))

    # 09 one line, no newline; IEA02 not the ISA13 (a mock-up payer file)
    many = [person(11 + i, claims=[office(f"SL2609{i}", f"202603{10 + i}")]) for i in range(3)]
    files["09-p-single-line-iea-mismatch.x12"] = text(interchange(109, [(A1, [transaction_set(
        "0001", A1, many, bht_time="214339", bht06="RP")])], iea_control=1770), term="~")

    # 10 several ST in one GS, HL numbers not restarting at 1
    sets = [transaction_set(f"{i:09d}", A1, [person(20 + i, claims=[office(f"MS2610{i}")])], hl_start=10 * i + 3)
            for i in range(1, 4)]
    files["10-p-several-sets-one-group.x12"] = text(interchange(110, [(A1, sets)]))

    # 11 two functional groups: an 837P and an 837I group in one interchange
    files["11-pi-two-groups.x12"] = text(interchange(111, [
        (A1, [transaction_set("0001", A1, [person(30, claims=[office("TG26111")])])]),
        (I2, [transaction_set("0002", I2, [person(31, claims=[op1.__class__(**{**op1.__dict__, "claim_id": "TG26112"})])])]),
    ]))

    # 12 two interchanges, the second with other delimiters
    first = text(interchange(112, [(A1, [transaction_set("0001", A1, [person(32, claims=[office("TI26121")])])])]))
    second_segs = interchange(113, [(A1, [transaction_set("0001", A1, [person(33, claims=[office("TI26122")])])])])
    second = "".join(s.replace("*", "|").replace(":", "^") + "!\n" for s in second_segs)
    second = second.replace(isa(113).replace("*", "|").replace(":", "^"), isa(113, ele="|", sub="^", rep=":"))
    files["12-p-two-interchanges-other-delimiters.x12"] = first + second

    # 13 element '~', segment '_', component '^', ISA11 'U' (different separators)
    segs = interchange(114, [(A1, [transaction_set("0001", A1, [person(34, claims=[office("DS26131")])])])],
                       isa_text=isa(114, rep="U"))
    body = "".join(s.replace("*", "~").replace(":", "^") + "_\n" for s in segs)
    files["13-p-different-separators.x12"] = body

    # 14 binary delimiters (0x1C elements, 0x1D segments, 0x1E components, 0x1F repetitions)
    segs = interchange(115, [(A1, [transaction_set("0001", A1, [person(35, claims=[office("BD26141")])])])])
    files["14-p-binary-delimiters.x12"] = "".join(
        s.replace("*", "\x1c").replace(":", "\x1e").replace("^", "\x1f") + "\x1d" for s in segs)

    # 15 UTF-8 byte-order mark, ~ CR LF terminators
    files["15-p-bom-crlf.x12"] = "\ufeff" + text(interchange(116, [(A1, [transaction_set(
        "0001", A1, [person(36, claims=[office("BC26151")])])])]), term="~\r\n")

    # 16 bare newline terminators (ISA16 followed by LF)
    files["16-p-newline-terminated.x12"] = text(interchange(117, [(A1, [transaction_set(
        "0001", A1, [person(37, claims=[office("NL26161")])])])]), term="\n")

    # 17 blank lines and spaces before ISA, blank lines after IEA, no terminator on the last segment
    body = text(interchange(118, [(A1, [transaction_set("0001", A1, [person(38, claims=[office("WS26171")])])])]))
    files["17-p-leading-and-trailing-whitespace.x12"] = "\n\n   " + body[:-2] + "\n\n\n"

    # 18 a space after terminators, HI with trailing empty elements, 837I X223A2 with COB
    cob2 = ["SBR*S*01*******CI", "OI***Y***Y", "NM1*IL*1*DUNMORROW*CASSIAN****MI*OTH66611",
            "NM1*PR*2*OTHER SAMPLE PLAN*****PI*OSP77"]
    sp = Claim("SP26018", [Line("80053", "95", "20260307", revenue="0301")], dx=[("ABK", "E785")], pos="13",
               hi="HI*ABK:E785**", cob=cob2)
    files["18-i-space-after-terminator.x12"] = text(interchange(119, [(I2, [transaction_set(
        "0001", I2, [person(39, claims=[sp])])])]), term="~ \n")

    # 19 ISA not fixed-width: ISA02 / ISA04 / ISA06 / ISA08 not padded
    files["19-p-isa-not-fixed-width.x12"] = text(interchange(120, [(A1, [transaction_set(
        "0001", A1, [person(40, claims=[office("FW26191")])])])],
        isa_text=isa(120, auth="", sec="", sender="CLEARHOUSE01", receiver="CAREPLATFORM")))

    # 20 ICD-9-CM codes (BK/BF) on an old claim, next to an ICD-10 claim
    old = Claim("I926201", [Line("99213", "75", "20150601")], dx=[("BK", "4019"), ("BF", "25000")])
    files["20-p-icd9-diagnoses.x12"] = text(interchange(121, [(A1, [transaction_set(
        "0001", A1, [person(41, claims=[old, office("I926202")])])])]))

    # 21 HI qualifier and code in separate elements, BK used with ICD-10 codes
    hs = Claim("HS26211", [Line("99213", "75", "20260309")], hi="HI*BK*E119*BF*I10")
    files["21-p-hi-split-qualifier.x12"] = text(interchange(122, [(A1, [transaction_set(
        "0001", A1, [person(42, claims=[hs])])])]))

    # 22 lower-case segment ids and mixed-case names
    body = text(interchange(123, [(A1, [transaction_set("0001", A1, [person(
        43, last="Evensholt", first="Marisol", claims=[office("LC26221")])])])]))
    lowered = "".join((seg.split("*", 1)[0].lower() + "*" + seg.split("*", 1)[1]
                       if seg.startswith(("NM1", "CLM", "LX", "SV1", "DTP", "HI*")) else seg) + "~\n"
                      for seg in body.split("~\n") if seg)
    files["22-p-lower-case-segments.x12"] = lowered

    # 23 anesthesia lines: minutes (MJ), four modifiers, a description component, RD8 line dates
    an = Claim("AN26231", [Line("00731", "984", "20260313-20260313", ("AA", "P3"), units="24", unit="MJ",
                                sv1_tail=":::EGD ANESTHESIA", extra=["NTE*ADD*START 0822 STOP 0846"]),
                           Line("62322", "738", "20260313-20260313", ("59", "XS", "LT", "GC"), pointers="1")],
               dx=[("ABK", "K219")], pos="22", before_hi=["DTP*304*D8*20260313", "REF*D9*0123456789012"])
    files["23-p-anesthesia-modifiers-ranges.x12"] = text(interchange(124, [(A1, [transaction_set(
        "0001", A1, [person(44, claims=[an])])])]))

    # 24 a replacement (7 + REF*F8) and a void (8) of earlier claims
    files["24-p-replacement-and-void.x12"] = text(interchange(125, [(A1, [transaction_set(
        "0001", A1, [person(45, claims=[office("RV26241-2", freq="7", f8="RV26241"),
                                        office("RV26242", freq="8", f8="RV26242")])])])]))

    # 25 837I revenue-code-only lines, POA indicators, admitting dx, DRG, 8-digit times
    poa = Claim("PO26251", [Line("", "9148", "20260301-20260305", revenue="0124", units="4", unit="DA"),
                            Line("", "798.50", "20260301-20260305", revenue="0301", units="4")],
                hi="HI*ABK:F329:::::::Y", pos="11", statement="20260301-20260305", admit="202603010900",
                after_hi=["HI*ABJ:F329", "HI*ABF:F1310:::::::Y*ABF:E876:::::::N", "HI*DR:885"],
                before_hi=["REF*D9*PO26251"])
    files["25-i-revenue-only-poa-drg.x12"] = text(interchange(126, [(I1, [transaction_set(
        "0001", I1, [person(46, claims=[poa])], bht_time="12022762")])]), term="~")

    # 26 encounter report (BHT06 RP), REF*D9, claim and line NTE
    enc = office("EN26261", before_hi=["REF*D9*7349065509", "NTE*ADD*ENCOUNTER ONLY"])
    files["26-p-encounter-reporting.x12"] = text(interchange(127, [(A1, [transaction_set(
        "0001", A1, [person(47, claims=[enc])], bht06="RP")])]))

    # 27 an 837D dental group (005010X224A2): refused, the version named
    files["27-bad-dental-x224a2.x12"] = text(interchange(128, [("005010X224A2", [transaction_set(
        "0001", "005010X224A2", [person(48, claims=[office("DN26271")])])])]))

    # 28 a 4010 837P
    t = text(interchange(129, [("004010X098A1", [transaction_set("0001", "004010X098A1", [person(
        49, claims=[office("OLD26281")])])])], isa_text=isa(129, rep="U", version="00401")))
    files["28-bad-4010-837p.x12"] = t

    # 29 no ISA: the file starts with GS
    body = text(interchange(130, [(I2, [transaction_set("0001", I2, [person(50, claims=[op2])])])]), term="~")
    files["29-bad-no-isa.x12"] = body[body.index("GS*"):]

    # 30 SE01 count wrong in one of two sets
    files["30-bad-se-count.x12"] = text(interchange(131, [(A1, [
        transaction_set("0001", A1, [person(51, claims=[office("SE26301")])], se_count=99),
        transaction_set("0002", A1, [person(52, claims=[office("SE26302")])])])]))

    # 31 bad values in two claims (an impossible date, a charge with a comma) beside a good one
    bad_date = office("BV26311", day="20260230")
    bad_amount = office("BV26312", total="12,50")
    files["31-bad-claim-values.x12"] = text(interchange(132, [(A1, [transaction_set(
        "0001", A1, [person(53, last="QUIXOTEVAL", first="ZEBULONIA", claims=[bad_date, bad_amount,
                                                                               office("BV26313")])])])]))

    # 32 a damaged ST segment: its set is outside any set; the validator cannot walk the file
    t = text(interchange(133, [(A1, [
        transaction_set("0001", A1, [person(54, claims=[office("DS26321")])]),
        transaction_set("0002", A1, [person(55, claims=[office("DS26322")])])])]))
    files["32-bad-damaged-st.x12"] = t.replace("ST*837*0001*", "S T*837*0001*", 1)

    # 33 the file ends after SE: GE and IEA missing
    t = text(interchange(134, [(A1, [transaction_set("0001", A1, [person(56, claims=[office("TR26331")])])])]))
    files["33-p-truncated-after-se.x12"] = t[:t.index("GE*")]

    # 34 a claim whose patient is a dependent with no id, in an 837I (the only claim): nothing loads
    dep3 = person(57, claims=[Claim("DI26341", [Line("99283", "420", "20260308", revenue="0450")],
                                    dx=[("ABK", "S0990XA")], pos="13")],
                  dependent=Dependent("FARNABY", "WILHELMINA", "20180105", "F"))
    files["34-i-dependent-only.x12"] = text(interchange(135, [(I3, [transaction_set("0001", I3, [dep3])])]))
    return files


def sources_md(manifest: list[dict]) -> str:
    out = ["# X12 837 corpus: what each file reproduces, and where it was observed", "",
           "Written by `build_corpus.py` for synthetic people; no other project's file is copied. Each file",
           "reproduces a way real senders write 837s, seen in the public sources named below (repository +",
           "path, read at the commit the search index holds). The expected outcome of each file, in the",
           "fast and the validating (`--validate`) modes, is in `MANIFEST.yaml`; "
           "`tests/integration/intake/test_x12_corpus.py` asserts it through the real ingest.", "",
           "Sources:", ""]
    for key, text_ in SOURCE_NAMES.items():
        out.append(f"- **{key}**: {text_}")
    out.append("")
    for item in manifest:
        out.append(f"## {item['file']} ({item['kind']})")
        out.append("")
        out.append(item["quirk"].strip())
        out.append("")
        for src in item["sources"]:
            out.append(f"- {src}")
        fast, val = item["fast"], item["validate"]
        out.append(f"- expected, fast: {fast['status']}, {fast['accepted']} accepted, {fast['rejected']} rejected; "
                   f"validating: {val['status']}, {val['accepted']} accepted"
                   + (", no 999" if val.get("ack") in (None, "none") else ""))
        out.append("")
    return "\n".join(out)


SOURCE_NAMES = {
    "LFH": "LinuxForHealth/x12 - `src/tests/resources/837_005010X222A2/`, `837_005010X223A3/`, `837_004010X098A1/`",
    "IMS": "imsweb/x12-parser - `src/test/resources/837_5010/`",
    "DBX": "databricks-industry-solutions/x12-edi-parser - `sampledata/837/`, `sampledata/malformed_files/`",
    "PYX": "azoner/pyx12 - `pyx12/test/test_rawx12file.py`, `pyx12/test/test_x12file.py`, "
           "`pyx12/test/x12testdata.py`, `pyx12/map/maps.xml`",
    "OEMR": "openemr/openemr - `src/Billing/X125010837P.php`, `src/Billing/Claim.php`, "
            "`src/Billing/BillingProcessor/BillingClaimBatch.php` (what OpenEMR sends)",
    "OD": "freemed/opendental - `OpenDentBusiness/X12/X837_5010.cs`, `OpenDentBusiness/X12/X12object.cs` "
          "(what Open Dental sends and reads)",
}


def main() -> int:
    manifest = yaml.safe_load((HERE / "MANIFEST.yaml").read_text())
    files = build()
    named = {item["file"] for item in manifest}
    if named != set(files):
        print("MANIFEST.yaml and build() disagree:", sorted(named ^ set(files)), file=sys.stderr)
        return 1
    wanted = {**{name: body.encode("utf-8") for name, body in files.items()},
              "SOURCES.md": sources_md(manifest).encode("utf-8")}
    check = "--check" in sys.argv
    differ = []
    for name, data in wanted.items():
        path = HERE / name
        if check:
            if not path.exists() or path.read_bytes() != data:
                differ.append(name)
        else:
            path.write_bytes(data)
    if differ:
        print("differs from what build_corpus.py writes:", ", ".join(differ), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
