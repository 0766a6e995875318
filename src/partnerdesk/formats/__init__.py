"""The product's own date formats (settings.FORMAT_MODULE_PATH), one short and one long
date per language, used by every page, e-mail and chart; anything not set here comes
from Django's locale formats.

- DATE_FORMAT is the long date ("December 1, 2026"), SHORT_DATE_FORMAT the short one
  ("12/01/2026"); the date-times are the same dates with the time of day added, so a
  page that shows both still shows one way of writing a date.
- Russian has no "г." after the year: a sentence ending in a date would end in "г..".
- Polish short dates take dots (01.12.2026), as Poles write them; Django's own is 01-12-2026.
"""
