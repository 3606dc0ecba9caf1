"""Sentences for the sample corpus: per-session pools for improvised turns, emotionless lines and
fixed scripts.

Improvised sentences are composed from an emotion's openers, cores and endings, drawn per session
(`session_pool`), so two sessions rarely share a sentence: a text model has to generalise from
the words, not memorise sentences. Some improvised turns are emotionless lines ("Okay.") whatever
the emotion. Scripted dialogues speak the same lines in every session (as IEMOCAP's scripts do),
whatever the acted emotion, so text alone cannot tell the emotion of a scripted turn.
"""
from __future__ import annotations

import numpy as np

# Lines that carry no emotion, spoken in any emotion.
NEUTRAL_LINES: tuple[str, ...] = (
    "Okay.", "I don't know.", "Yeah.", "Right.", "What do you mean?", "Well, maybe.",
    "Sure.", "I see.", "Hm, I guess so.", "Really?", "And then what?", "So what now?",
    "Okay, fine.", "Is that so?", "Uh-huh.", "I don't know what to say.", "Yes.", "No.",
)

# (openers, cores, endings) per emotion; a sentence is opener + core + ending.
_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "neu": (
        ("", "Well, ", "So, ", "I think ", "Apparently ", "Anyway, "),
        ("the meeting starts at nine", "the keys are on the kitchen table",
         "we could take the bus into town", "the store closes at six",
         "she will call after lunch", "the forms are in the second drawer",
         "the train leaves from the other platform", "it is about twenty minutes from here",
         "my brother is coming on Thursday", "the office moved to the third floor",
         "we need to pick up some groceries", "the car is parked across the street"),
        (".", " tomorrow.", " as far as I know.", ", I checked.", " this week.", " again."),
    ),
    "hap": (
        ("", "Oh, ", "You know, ", "Honestly, ", "Well, ", "I have to say "),
        ("that sounds really lovely", "I am so glad you came over",
         "it was such a pleasant evening", "I really like how this turned out",
         "you always know how to make me smile", "it is nice to see you here",
         "this is a good day for us", "the dinner was wonderful",
         "I am happy it worked out for you", "we had a great time together",
         "the garden looks beautiful now", "that was very kind of you"),
        (".", ", thank you.", " today.", ", really.", " after all.", ", it really is."),
    ),
    "exc": (
        ("", "Oh wow, ", "Yes! ", "Look, ", "Guess what, ", "Come on, "),
        ("we actually got the tickets", "they said yes to the offer",
         "I finally passed the exam", "we are going to the coast",
         "we won the whole thing", "the band is playing here tonight",
         "she is having a baby", "I got the job in the city",
         "they picked our design", "we are moving into the new house",
         "the flight is booked for Friday", "my sister is coming home"),
        ("!", ", can you believe it!", " this weekend!", ", finally!", ", it is amazing!",
         " right now!"),
    ),
    "sad": (
        ("", "I guess ", "Honestly, ", "You know, ", "Maybe ", "It's just that "),
        ("I miss him every single day", "nothing seems to go right anymore",
         "I really thought she would stay", "it feels so empty without them",
         "I lost the job I worked so hard for", "it was all my fault after all",
         "I wish things could be the way they were", "nobody called on my birthday",
         "the house is so quiet now", "I never got to say goodbye",
         "the doctor did not have good news", "we just grew apart"),
        (".", ", I suppose.", " now.", " anyway.", ", that is all.", " lately."),
    ),
    "ang": (
        ("", "Listen, ", "No, ", "Look, ", "Enough, ", "Seriously, "),
        ("do not ever talk to me like that", "you lied to my face",
         "get out of my office", "this is completely unacceptable",
         "you had no right to touch my things", "I am sick of your excuses",
         "stop it right now", "you ruined the whole evening",
         "you never listen to a word I say", "who do you think you are",
         "you broke your promise again", "I will not take this any more"),
        ("!", ", do you hear me!", " again!", ", understand!", " now!", ", damn it!"),
    ),
    "fru": (
        ("", "Look, ", "Again, ", "Honestly, ", "Ugh, ", "For the last time, "),
        ("I have been waiting in this line for an hour", "this form never works",
         "I already told you that three times", "nobody here knows anything",
         "they lost my file a second time", "I just need one simple answer",
         "we keep going around in circles", "the printer is jammed again",
         "the bus is late every single day", "I cannot find the right office",
         "the website keeps logging me out", "they keep sending me somewhere else"),
        (".", ", seriously.", " again.", ", every time.", ", I swear.", ", as usual."),
    ),
}
# Words of one emotion sometimes come out in a near one (the real corpus's blurred boundaries).
NEAR = {"neu": ("fru", "sad", "hap"), "hap": ("exc", "neu"), "exc": ("hap",),
        "sad": ("neu", "fru"), "ang": ("fru",), "fru": ("ang", "neu", "sad")}


def session_pool(emotion: str, seed: int, session: int, size: int) -> list[str]:
    """`size` sentences of an emotion for one session (1-based), composed from its parts.

    One permutation of all compositions per (seed, emotion); session s takes the s-th slice of
    it, so sessions share no composed sentence until the compositions run out (then they wrap)."""
    openers, cores, endings = _PARTS[emotion]
    n = len(openers) * len(cores) * len(endings)
    perm = np.random.default_rng([seed, sorted(_PARTS).index(emotion)]).permutation(n)
    out = []
    for k in (int(perm[((session - 1) * size + j) % n]) for j in range(min(size, n))):
        o, rest = divmod(k, len(cores) * len(endings))
        c, e = divmod(rest, len(endings))
        s = openers[o] + cores[c] + endings[e]
        out.append(s[0].upper() + s[1:])
    return out


def neutral_lines(seed: int, session: int, size: int = 4) -> list[str]:
    """The emotionless lines a session's actors use (a slice of one permutation, as pools)."""
    perm = np.random.default_rng([seed, 99]).permutation(len(NEUTRAL_LINES))
    return [NEUTRAL_LINES[int(perm[((session - 1) * size + j) % len(perm)])] for j in range(size)]


def improvised_line(emotion: str, pools: dict[str, list[str]], rng: np.random.Generator,
                    neutral_rate: float, near_rate: float) -> str:
    """One improvised sentence for a turn: an emotionless line (from `pools["none"]`), a near
    emotion's, or its own."""
    u = rng.random()
    if u < neutral_rate:
        return pools["none"][rng.integers(len(pools["none"]))]
    if u < neutral_rate + near_rate:
        near = NEAR[emotion]
        emotion = near[rng.integers(len(near))]
    pool = pools[emotion]
    return pool[rng.integers(len(pool))]


# Scripts: fixed lines spoken in turn order; every session acts the same lines, in varying emotion.
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
    "script03": (
        "You are late again.",
        "The traffic was terrible, I am sorry.",
        "You say that every time.",
        "Because it is true every time.",
        "Did you at least bring the letter?",
        "It is in my bag, here.",
        "Have you read it?",
        "I did, on the way over.",
        "And what does it say?",
        "It says we have until the end of the month.",
        "Then we still have a chance.",
        "We do, if we start today.",
    ),
}

# Eight example sentences per emotion (the pools' first session draws; used by the benches).
TEMPLATES: dict[str, tuple[str, ...]] = {
    e: tuple(session_pool(e, 0, 1, 8)) for e in _PARTS}
