"""A hundred distinct everyday sentences, for tests that encode real text with a real model."""

SUBJECTS = ["The cat", "My neighbour", "A young doctor", "The old fisherman", "Our teacher",
            "The football team", "A tired student", "The chef", "The pilot", "My grandmother"]
ACTIONS = ["cooked a spicy curry for dinner", "won the championship final last night",
           "repaired the broken bicycle in the garage", "read a long novel about the sea",
           "planted tomatoes in the garden", "flew across the ocean in a storm",
           "fixed a bug in the database server", "painted the kitchen bright yellow",
           "sang loudly at the wedding", "lost the keys to the car"]
SENTENCES = [f"{s} {a}." for s in SUBJECTS for a in ACTIONS]
