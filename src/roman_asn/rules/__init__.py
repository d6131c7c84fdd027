"""Association rules: the shipped ``default_rules.toml``, the loader and the hook registry."""

from roman_asn.rules.hooks import ExpanderSkip, register_expander
from roman_asn.rules.loader import Rule, RulesError, load_rules

__all__ = ["ExpanderSkip", "Rule", "RulesError", "load_rules", "register_expander"]
