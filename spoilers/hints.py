"""SPOILERS: the hint ladders of the three exercises, for `python check.py N --hint K`.

Hint 1 is the idea, hint 2 the PyTorch or NumPy calls, hint 3 where the
whole answer is. Ask for one at a time.
"""

from __future__ import annotations

HINTS: dict[int, list[str]] = {
    1: [
        "Training asks how the loss changes when a weight moves. Ask how one Q-value changes when a wall "
        "moves: make a copy of the walls that autograd tracks, build the network's input from it and the "
        "fixed channels, pick each dream's Q-value of its action, and ask autograd for the derivative "
        "with respect to the copy. A fresh copy per call means no gradient piles up.",
        "walls.detach().clone().requires_grad_(); channels_to_input(copy, crops, humans, exits, position); "
        "net(x) is (B, 4): net(x)[torch.arange(B), action] picks one Q-value per dream; "
        "torch.autograd.grad(q.sum(), copy) returns a tuple with the gradient. Summing is fine: dream b's "
        "walls change only dream b's Q-value.",
        "`python maze_dream.py --solution` runs the reference answer; it is written out in "
        "spoilers/solutions.py (five lines).",
    ],
    2: [
        "Two conditions, cell by cell: the agent is fooled at least `margin` more often than the control "
        "(a difference, with its sign: the control being fooled is no warning about the agent), and the "
        "agent's training data never held a human there. NaN cells had no dreams: comparisons with NaN "
        "are False, which is what you want.",
        "agent - control >= margin gives a boolean array; so does pool_human == 0; combine them with &. "
        "No loop: numpy compares all 49 cells at once.",
        "The reference is one line, in spoilers/solutions.py; `python maze_dream.py --solution --all` "
        "uses it while yours is open.",
    ],
    3: [
        "It is exercise 1 with another objective: instead of one Q-value per dream, one hidden unit's "
        "activation per dream. Everything else (the fresh copy of the walls, the input, autograd) is the "
        "same.",
        "hidden_activations(net, layer, x) is (B, width), after the LeakyReLU; "
        "hidden_activations(net, layer, x)[torch.arange(B), units] picks unit units[b] for dream b; then "
        "torch.autograd.grad(act.sum(), copy).",
        "The reference is in spoilers/solutions.py (unit_gradient); `python maze_dream_more.py neurons` "
        "dreams with it while yours is open.",
    ],
}
