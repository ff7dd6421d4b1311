"""Test helpers for connector authors. Installed as `quire.testing` (and reachable as
`quire.plugins.testing` in a source checkout); modules here import Quire absolutely so both
names work."""
