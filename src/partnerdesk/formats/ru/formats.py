# Russian: 1 декабря 2026 · 01.12.2026, 24-hour time; no "г." (a date ending a sentence
# would read "г..").
DATE_FORMAT = "j E Y"
SHORT_DATE_FORMAT = "d.m.Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j E Y, H:i"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j E"
