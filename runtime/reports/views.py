"""Report and dashboard pages."""

from flask import Blueprint

bp = Blueprint("reports", __name__)
