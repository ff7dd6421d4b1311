"""Cost allocation (成本归集与分摊): rules, monthly runs and the lines they book."""
