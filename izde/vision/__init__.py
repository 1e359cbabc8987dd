"""Face detection, landmarks, alignment, embedding, tracking and quality."""
