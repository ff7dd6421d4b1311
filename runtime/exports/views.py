"""Web routes for print copies and offline workbooks."""

from flask import Blueprint

bp = Blueprint("exports", __name__)
