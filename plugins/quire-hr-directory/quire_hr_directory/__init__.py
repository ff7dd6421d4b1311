"""Quire connector for the HR directory: employees and departments, for the organisation sync."""

from .connector import HrDirectoryConfig, HrDirectoryConnector, sample_folder

__all__ = ["HrDirectoryConfig", "HrDirectoryConnector", "sample_folder"]
