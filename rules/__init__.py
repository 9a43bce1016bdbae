"""The rule catalog: one module per rule. Each module registers its rule on import
(`nnlint.registry.load_rules` imports them all); nothing else lists the rules."""
