"""Policy what-if (政策测算): a recorded year re-priced under draft policies, from the events."""

from projections.whatif.drafts import Draft, load_draft, load_draft_text
from projections.whatif.report import ACTUAL, MEASURES, WhatIf, what_if

__all__ = ["ACTUAL", "MEASURES", "Draft", "WhatIf", "load_draft", "load_draft_text", "what_if"]
