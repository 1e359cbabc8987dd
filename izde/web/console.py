"""placeholder"""

from fastapi import APIRouter

public = APIRouter()
router = APIRouter()
