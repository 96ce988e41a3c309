"""Place names for identifiers: ISO 3166-1 countries and US states, with the names people write for them.

Both tables are matched on a place key (`place_key`): accents dropped, lower case, ASCII letters and digits
only, so "Côte d'Ivoire", "COTE D'IVOIRE" and "cote divoire" meet. The tables are built once, at import.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Final


def place_key(text: str) -> str:
    """Return the matching key of a place name or code: accents dropped, lower case, [a-z0-9] only."""
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return _NOT_KEY.sub("", text.lower())


def country_code(name: str) -> str | None:
    """Return the lower-case ISO 3166-1 alpha-2 code of a country, or None when `name` is not one.

    `name` may be an alpha-2 or alpha-3 code, the ISO English short name, or a common variant ("USA", "UK",
    "Great Britain", "Ivory Coast", "The Netherlands").
    """
    key = place_key(name)
    code = _COUNTRY_KEYS.get(key)
    if code is None and key.startswith("the"):
        # "The Netherlands", "the Gambia": no country's own name starts with "The".
        code = _COUNTRY_KEYS.get(key[3:])
    return code


def us_state_code(name: str) -> str | None:
    """Return the lower-case USPS code of a US state, DC, territory or military "state", or None.

    `name` may be the USPS code ("CA") or the name ("California", "washington d.c.").
    """
    return _US_STATE_KEYS.get(place_key(name))


_NOT_KEY = re.compile(r"[^a-z0-9]+")
_PARENTHETICAL = re.compile(r"\s*\([^)]*\)")

# ISO 3166-1 as published (iso-codes 4.15): alpha-2, alpha-3, English short name, then other names people
# use, separated by "|"; a line starting with "|" goes on with the names of the line above. Variants made
# by rule need no line here: without a parenthetical part ("Falkland Islands"), "and" written "&", "Saint"
# written "St".
_COUNTRY_TABLE: Final = """
AD AND Andorra
AE ARE United Arab Emirates | UAE
AF AFG Afghanistan
AG ATG Antigua and Barbuda
AI AIA Anguilla
AL ALB Albania
AM ARM Armenia
AO AGO Angola
AQ ATA Antarctica
AR ARG Argentina
AS ASM American Samoa
AT AUT Austria
AU AUS Australia
AW ABW Aruba
AX ALA Åland Islands
AZ AZE Azerbaijan
BA BIH Bosnia and Herzegovina | Bosnia
BB BRB Barbados
BD BGD Bangladesh
BE BEL Belgium
BF BFA Burkina Faso
BG BGR Bulgaria
BH BHR Bahrain
BI BDI Burundi
BJ BEN Benin
BL BLM Saint Barthélemy | St Barts
BM BMU Bermuda
BN BRN Brunei Darussalam | Brunei
BO BOL Bolivia, Plurinational State of | Bolivia
BQ BES Bonaire, Sint Eustatius and Saba | Caribbean Netherlands | Bonaire
BR BRA Brazil
BS BHS Bahamas
BT BTN Bhutan
BV BVT Bouvet Island
BW BWA Botswana
BY BLR Belarus
BZ BLZ Belize
CA CAN Canada
CC CCK Cocos (Keeling) Islands
CD COD Congo, The Democratic Republic of the
       | Democratic Republic of the Congo | DR Congo | DRC | Congo-Kinshasa
CF CAF Central African Republic
CG COG Congo | Republic of the Congo | Congo-Brazzaville
CH CHE Switzerland
CI CIV Côte d'Ivoire | Ivory Coast
CK COK Cook Islands
CL CHL Chile
CM CMR Cameroon
CN CHN China
CO COL Colombia
CR CRI Costa Rica
CU CUB Cuba
CV CPV Cabo Verde | Cape Verde
CW CUW Curaçao
CX CXR Christmas Island
CY CYP Cyprus
CZ CZE Czechia | Czech Republic
DE DEU Germany
DJ DJI Djibouti
DK DNK Denmark
DM DMA Dominica
DO DOM Dominican Republic
DZ DZA Algeria
EC ECU Ecuador
EE EST Estonia
EG EGY Egypt
EH ESH Western Sahara
ER ERI Eritrea
ES ESP Spain
ET ETH Ethiopia
FI FIN Finland
FJ FJI Fiji
FK FLK Falkland Islands (Malvinas)
FM FSM Micronesia, Federated States of | Micronesia | Federated States of Micronesia
FO FRO Faroe Islands
FR FRA France
GA GAB Gabon
GB GBR United Kingdom | UK | Great Britain | Britain | England | Scotland | Wales | Northern Ireland
GD GRD Grenada
GE GEO Georgia
GF GUF French Guiana
GG GGY Guernsey
GH GHA Ghana
GI GIB Gibraltar
GL GRL Greenland
GM GMB Gambia
GN GIN Guinea
GP GLP Guadeloupe
GQ GNQ Equatorial Guinea
GR GRC Greece
GS SGS South Georgia and the South Sandwich Islands
GT GTM Guatemala
GU GUM Guam
GW GNB Guinea-Bissau
GY GUY Guyana
HK HKG Hong Kong
HM HMD Heard Island and McDonald Islands
HN HND Honduras
HR HRV Croatia
HT HTI Haiti
HU HUN Hungary
ID IDN Indonesia
IE IRL Ireland | Republic of Ireland
IL ISR Israel
IM IMN Isle of Man
IN IND India
IO IOT British Indian Ocean Territory
IQ IRQ Iraq
IR IRN Iran, Islamic Republic of | Iran
IS ISL Iceland
IT ITA Italy
JE JEY Jersey
JM JAM Jamaica
JO JOR Jordan
JP JPN Japan
KE KEN Kenya
KG KGZ Kyrgyzstan
KH KHM Cambodia
KI KIR Kiribati
KM COM Comoros
KN KNA Saint Kitts and Nevis
KP PRK Korea, Democratic People's Republic of | North Korea | Korea, North | DPRK
KR KOR Korea, Republic of | South Korea | Republic of Korea | Korea, South
KW KWT Kuwait
KY CYM Cayman Islands
KZ KAZ Kazakhstan
LA LAO Lao People's Democratic Republic | Laos | Lao PDR
LB LBN Lebanon
LC LCA Saint Lucia
LI LIE Liechtenstein
LK LKA Sri Lanka
LR LBR Liberia
LS LSO Lesotho
LT LTU Lithuania
LU LUX Luxembourg
LV LVA Latvia
LY LBY Libya
MA MAR Morocco
MC MCO Monaco
MD MDA Moldova, Republic of | Moldova
ME MNE Montenegro
MF MAF Saint Martin (French part)
MG MDG Madagascar
MH MHL Marshall Islands
MK MKD North Macedonia | Macedonia
ML MLI Mali
MM MMR Myanmar | Burma
MN MNG Mongolia
MO MAC Macao | Macau
MP MNP Northern Mariana Islands
MQ MTQ Martinique
MR MRT Mauritania
MS MSR Montserrat
MT MLT Malta
MU MUS Mauritius
MV MDV Maldives
MW MWI Malawi
MX MEX Mexico
MY MYS Malaysia
MZ MOZ Mozambique
NA NAM Namibia
NC NCL New Caledonia
NE NER Niger
NF NFK Norfolk Island
NG NGA Nigeria
NI NIC Nicaragua
NL NLD Netherlands | Holland
NO NOR Norway
NP NPL Nepal
NR NRU Nauru
NU NIU Niue
NZ NZL New Zealand
OM OMN Oman
PA PAN Panama
PE PER Peru
PF PYF French Polynesia
PG PNG Papua New Guinea
PH PHL Philippines
PK PAK Pakistan
PL POL Poland
PM SPM Saint Pierre and Miquelon
PN PCN Pitcairn | Pitcairn Islands
PR PRI Puerto Rico
PS PSE Palestine, State of | Palestine | State of Palestine
PT PRT Portugal
PW PLW Palau
PY PRY Paraguay
QA QAT Qatar
RE REU Réunion
RO ROU Romania
RS SRB Serbia
RU RUS Russian Federation | Russia
RW RWA Rwanda
SA SAU Saudi Arabia
SB SLB Solomon Islands
SC SYC Seychelles
SD SDN Sudan
SE SWE Sweden
SG SGP Singapore
SH SHN Saint Helena, Ascension and Tristan da Cunha | Saint Helena | Ascension | Tristan da Cunha
SI SVN Slovenia
SJ SJM Svalbard and Jan Mayen
SK SVK Slovakia
SL SLE Sierra Leone
SM SMR San Marino
SN SEN Senegal
SO SOM Somalia
SR SUR Suriname
SS SSD South Sudan
ST STP Sao Tome and Principe
SV SLV El Salvador
SX SXM Sint Maarten (Dutch part)
SY SYR Syrian Arab Republic | Syria
SZ SWZ Eswatini | Swaziland
TC TCA Turks and Caicos Islands
TD TCD Chad
TF ATF French Southern Territories
TG TGO Togo
TH THA Thailand
TJ TJK Tajikistan
TK TKL Tokelau
TL TLS Timor-Leste | East Timor
TM TKM Turkmenistan
TN TUN Tunisia
TO TON Tonga
TR TUR Türkiye | Turkey
TT TTO Trinidad and Tobago
TV TUV Tuvalu
TW TWN Taiwan, Province of China | Taiwan
TZ TZA Tanzania, United Republic of | Tanzania
UA UKR Ukraine
UG UGA Uganda
UM UMI United States Minor Outlying Islands
US USA United States | United States of America
UY URY Uruguay
UZ UZB Uzbekistan
VA VAT Holy See (Vatican City State) | Vatican | Vatican City | Vatican City State
VC VCT Saint Vincent and the Grenadines
VE VEN Venezuela, Bolivarian Republic of | Venezuela
VG VGB Virgin Islands, British | British Virgin Islands
VI VIR Virgin Islands, U.S. | US Virgin Islands | United States Virgin Islands
VN VNM Viet Nam | Vietnam
VU VUT Vanuatu
WF WLF Wallis and Futuna
WS WSM Samoa
YE YEM Yemen
YT MYT Mayotte
ZA ZAF South Africa
ZM ZMB Zambia
ZW ZWE Zimbabwe

"""

# USPS codes: the 50 states, DC, the inhabited territories, the freely associated states USPS serves, and
# the military "states" of APO/FPO addresses.
_US_STATE_TABLE: Final = """
AL Alabama
AK Alaska
AZ Arizona
AR Arkansas
CA California
CO Colorado
CT Connecticut
DE Delaware
FL Florida
GA Georgia
HI Hawaii
ID Idaho
IL Illinois
IN Indiana
IA Iowa
KS Kansas
KY Kentucky
LA Louisiana
ME Maine
MD Maryland
MA Massachusetts
MI Michigan
MN Minnesota
MS Mississippi
MO Missouri
MT Montana
NE Nebraska
NV Nevada
NH New Hampshire
NJ New Jersey
NM New Mexico
NY New York
NC North Carolina
ND North Dakota
OH Ohio
OK Oklahoma
OR Oregon
PA Pennsylvania
RI Rhode Island
SC South Carolina
SD South Dakota
TN Tennessee
TX Texas
UT Utah
VT Vermont
VA Virginia
WA Washington
WV West Virginia
WI Wisconsin
WY Wyoming
DC District of Columbia | Washington DC | Washington, D.C.
AS American Samoa
GU Guam
MP Northern Mariana Islands
PR Puerto Rico
VI U.S. Virgin Islands | Virgin Islands | United States Virgin Islands | Virgin Islands, U.S.
UM United States Minor Outlying Islands | U.S. Minor Outlying Islands
FM Federated States of Micronesia | Micronesia
MH Marshall Islands
PW Palau
AA Armed Forces Americas
AE Armed Forces Europe
AP Armed Forces Pacific
"""


def _entries(table: str, codes: int) -> Iterator[tuple[list[str], list[str]]]:
    """Yield (codes, names) for each entry of a table: `codes` leading codes, then "|"-separated names."""
    entry: tuple[list[str], list[str]] | None = None
    for line in table.strip().splitlines():
        line = line.strip()
        if line.startswith("|"):
            if entry is None:
                raise ValueError("a continuation line has no entry above it")
            entry[1].extend(name.strip() for name in line[1:].split("|"))
            continue
        if entry is not None:
            yield entry
        parts = line.split(maxsplit=codes)
        entry = (parts[:codes], [name.strip() for name in parts[codes].split("|")])
    if entry is not None:
        yield entry


def _name_variants(name: str) -> set[str]:
    """The ways of writing `name` that the tables accept besides itself (see the rules above)."""
    variants = {name, _PARENTHETICAL.sub("", name)}
    variants |= {variant.replace(" and ", " ") for variant in variants}
    variants |= {"St " + variant[6:] for variant in variants if variant.startswith("Saint ")}
    return variants


def _build(table: str, codes: int) -> dict[str, str]:
    """Map the place key of every code and name of `table` to its lower-case first code.

    Raises:
        ValueError: two entries share a key; the table is wrong and must be fixed.
    """
    keys: dict[str, str] = {}
    for entry_codes, names in _entries(table, codes):
        code = entry_codes[0].lower()
        spellings = set(entry_codes) | {variant for name in names for variant in _name_variants(name)}
        for spelling in spellings:
            key = place_key(spelling)
            if keys.setdefault(key, code) != code:
                raise ValueError(f"place key {key!r} stands for both {keys[key]!r} and {code!r}")
    return keys


_COUNTRY_KEYS: Final[Mapping[str, str]] = MappingProxyType(_build(_COUNTRY_TABLE, codes=2))
_US_STATE_KEYS: Final[Mapping[str, str]] = MappingProxyType(_build(_US_STATE_TABLE, codes=1))

COUNTRY_ALPHA3: Final[Mapping[str, str]] = MappingProxyType(
    {codes[0].lower(): codes[1].lower() for codes, _names in _entries(_COUNTRY_TABLE, codes=2)}
)
"""Every ISO 3166-1 country: lower-case alpha-2 code to lower-case alpha-3 code."""
