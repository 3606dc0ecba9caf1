"""Sentences for the sample corpus: templates per emotion (improvised) and fixed scripts.

Improvised turns draw a sentence for the turn's emotion, so text carries emotion there.
Scripted dialogues speak the same script lines in every session (as IEMOCAP's scripts do), whatever
the acted emotion, so text alone cannot tell the emotion of a scripted turn.
"""
from __future__ import annotations

TEMPLATES: dict[str, tuple[str, ...]] = {
    "neu": (
        "I left the keys on the kitchen table.",
        "The meeting starts at nine tomorrow morning.",
        "We could take the bus into town.",
        "I think the store closes at six.",
        "She said she would call after lunch.",
        "The forms are in the second drawer.",
        "Let me check the schedule first.",
        "It is about twenty minutes from here.",
    ),
    "hap": (
        "That sounds really lovely, thank you.",
        "I am so glad you came over today.",
        "What a nice surprise to see you here.",
        "This is the best news I have heard all week.",
        "I really like how this turned out.",
        "You always know how to make me smile.",
        "It was such a pleasant evening.",
        "I am happy it worked out for you.",
    ),
    "exc": (
        "Oh wow, we actually got the tickets!",
        "I cannot believe it, this is amazing!",
        "Yes! We are going to the coast this weekend!",
        "They said yes, they really said yes!",
        "This is incredible, look at all of this!",
        "I passed, I finally passed the exam!",
        "We won, can you believe we won!",
        "Come on, let us celebrate right now!",
    ),
    "sad": (
        "I miss him so much, every single day.",
        "Nothing seems to go right anymore.",
        "I really thought she would stay.",
        "It just feels so empty without them.",
        "I do not know what to do now.",
        "I lost the job I worked so hard for.",
        "Maybe it was all my fault after all.",
        "I wish things could be the way they were.",
    ),
    "ang": (
        "Do not ever talk to me like that again!",
        "You lied to me, you lied to my face!",
        "Get out of here, right now!",
        "This is completely unacceptable!",
        "How dare you touch my things!",
        "I am sick and tired of your excuses!",
        "Stop it, just stop it right now!",
        "You had no right to do that!",
    ),
    "fru": (
        "I have been waiting in this line for an hour.",
        "Why does this form never work?",
        "I already told you that three times.",
        "Nobody here seems to know anything.",
        "This is the second time they lost my file.",
        "I just need one simple answer.",
        "We keep going around in circles.",
        "Can somebody please help me with this?",
    ),
}

# Scripts: fixed lines spoken in turn order; every session acts the same lines.
SCRIPTS: dict[str, tuple[str, ...]] = {
    "script01": (
        "So this is where you have been all along.",
        "I did not think you would come looking for me.",
        "Of course I came, what else would I do?",
        "You could have left it alone, like everyone else.",
        "I am not everyone else, you know that.",
        "Then tell me why you are really here.",
        "Because I wanted to see you again.",
        "It has been a very long time.",
        "Too long, if you ask me.",
        "Maybe we should start over.",
        "I would like that very much.",
        "Then let us sit down and talk.",
    ),
    "script02": (
        "Did you hear what happened at the office?",
        "No, nobody tells me anything.",
        "They moved the whole team to the other building.",
        "Without asking any of us first?",
        "Not a single word, it was all decided upstairs.",
        "Well, that is just how they do things.",
        "I suppose we will have to get used to it.",
        "At least the new place has windows.",
        "And a real kitchen, I heard.",
        "Then it may not be so bad after all.",
        "We will see on Monday.",
        "Monday it is, then.",
    ),
}
