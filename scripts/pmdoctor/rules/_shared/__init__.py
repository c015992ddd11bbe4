"""What several rule families share: model questions with one answer, layout walking, fix targets.

Rule families never import each other; anything two of them need lives here.
"""
