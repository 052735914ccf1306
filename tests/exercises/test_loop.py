"""Notebook 03's checkers that train a GAN (gan_edu.exercises.loop): build and train (check_train),
find the bug (check_diagnosis, check_fix). Each accepts right answers, names the mistake in wrong
ones, says "not done yet" to the student edition's stub, never writes to stderr and leaves the RNG
alone; and the package's pieces they and notebook 03 use (gan_edu.experiments.failures)."""
import pytest
import torch
import torch.nn.functional as F

import gan_edu as ge
from gan_edu.exercises import loop
from gan_edu.experiments import failures

bce = F.binary_cross_entropy_with_logits
LR_D, LR_G, BETAS, BATCH = 5e-3, 5e-4, (0.5, 0.999), 256


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError()


def outcome(check, fn, capsys):
    """(what the checker returned, what it printed); nothing may reach stderr."""
    result = check(fn)
    captured = capsys.readouterr()
    assert captured.err == "", captured.err
    return result, captured.out


# ----------------------------------------------------------------------------- build and train
def make_d_step(labels=(1.0, 0.0)):
    def d_step(G, D, opt_d, real, noise):
        with torch.no_grad():
            fake = G(noise(real.shape[0]))
        r, f = D(real), D(fake)
        loss = bce(r, torch.full_like(r, labels[0])) + bce(f, torch.full_like(f, labels[1]))
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        return loss
    return d_step


def make_g_step(label=1.0):
    def g_step(G, D, opt_g, batch_size, noise):
        f = D(G(noise(batch_size)))
        loss = bce(f, torch.full_like(f, label))
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        return loss
    return g_step


def make_train(d_step=make_d_step(), g_step=make_g_step(), lr_d=LR_D, lr_g=LR_G, batch=BATCH, rounds=None,
               one_batch=False, train_g=True):
    """A student's loop; it calls the steps by the names d_step and g_step, as the notebook's does."""
    def train(G, D, data, n_rounds):
        opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=BETAS)
        opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=BETAS)
        noise = lambda n: torch.randn(n, G.noise_dim)  # noqa: E731
        x = data(batch)
        for _ in range(n_rounds if rounds is None else rounds):
            d_step(G, D, opt_d, x if one_batch else data(batch), noise)
            if train_g:
                g_step(G, D, opt_g, batch, noise)
    return train


TRAIN_SOURCE = """
def train(G, D, data, rounds):
    opt_d = torch.optim.Adam(D.parameters(), lr=5e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=5e-4, betas=(0.5, 0.999))
    noise = lambda n: torch.randn(n, G.noise_dim)
    for _ in range(rounds):
        one_round(G, D, opt_d, opt_g, data(256), noise)


def one_round(G, D, opt_d, opt_g, x, noise):
    d_step(G, D, opt_d, x, noise)
    g_step(G, D, opt_g, len(x), noise)
"""


def notebook_train(**steps):
    """A train defined as in the notebook: it finds d_step and g_step among its module's globals (here
    through a helper); returns (train, that namespace)."""
    namespace = {"torch": torch, **steps}
    exec(TRAIN_SOURCE, namespace)
    return namespace["train"], namespace


@pytest.mark.parametrize("fn", [make_train(), make_train(batch=64)], ids=["plain steps", "batches of 64"])
def test_check_train_accepts_right_answers(fn, capsys):
    result, out = outcome(loop.check_train, fn, capsys)
    assert result is True and out.startswith("check_train: correct.") and out.count("\n") == 1, out


def test_check_train_finds_the_steps_in_the_notebooks_namespace_and_puts_them_back(capsys):
    d_step, g_step = make_d_step(), make_g_step()
    train, namespace = notebook_train(d_step=d_step, g_step=g_step)
    result, out = outcome(loop.check_train, train, capsys)
    assert result is True and "400 rounds of your d_step and g_step" in out, out
    assert namespace["d_step"] is d_step and namespace["g_step"] is g_step
    assert ge.algorithm.d_step is failures.d_step  # the package's step, imported by name before any check


def fit_with_gan(G, D, data, rounds):
    ge.GAN(G, D, lr_d=LR_D, lr_g=LR_G, betas=BETAS, seed=0, device="cpu").fit(data, steps=rounds, batch_size=BATCH,
                                                                             progress=False)


def alternating(G, D, data, rounds):
    opt_d = torch.optim.Adam(D.parameters(), lr=LR_D, betas=BETAS)
    opt_g = torch.optim.Adam(G.parameters(), lr=LR_G, betas=BETAS)
    for _ in range(rounds):
        ge.algorithm.alternating_round(G, D, opt_d, opt_g, lambda: data(BATCH), BATCH,
                                       lambda n: torch.randn(n, G.noise_dim))


def inline_steps(G, D, data, rounds):
    """Right rounds written inline: neither d_step nor g_step is called."""
    opt_d = torch.optim.Adam(D.parameters(), lr=LR_D, betas=BETAS)
    opt_g = torch.optim.Adam(G.parameters(), lr=LR_G, betas=BETAS)
    noise = lambda n: torch.randn(n, G.noise_dim)  # noqa: E731
    for _ in range(rounds):
        make_d_step()(G, D, opt_d, data(BATCH), noise)
        make_g_step()(G, D, opt_g, BATCH, noise)


def loop_ignoring_own_steps():
    """Right rounds written inline, in a namespace that holds d_step and g_step, which it never calls."""
    namespace = {"d_step": make_d_step(), "g_step": make_g_step(), "inline_steps": inline_steps}
    exec("def train(G, D, data, rounds):\n    inline_steps(G, D, data, rounds)\n", namespace)
    return namespace["train"]


PACKAGE_LOOPS = {  # (the loop, the hint)
    "GAN.fit": (fit_with_gan, "ran the package's steps (gan_edu.algorithm.d_step and g_step"),
    "alternating_round": (alternating, "ran the package's steps (gan_edu.algorithm.d_step and g_step"),
    "the package's g_step called": (make_train(g_step=lambda *a: ge.algorithm.g_step(*a)),
                                    "ran the package's steps (gan_edu.algorithm.g_step, which"),
    "d_step is the package's": (make_train(d_step=ge.algorithm.d_step),
                                "the d_step your loop calls is gan_edu.algorithm.d_step"),
    "g_step is the package's": (make_train(g_step=ge.algorithm.g_step),
                                "the g_step your loop calls is gan_edu.algorithm.g_step"),
    "no steps to call": (inline_steps, "found no function named d_step where train is defined"),
    "own steps not called": (loop_ignoring_own_steps(), "your loop called your d_step 0 times and your g_step 0 times"),
}


@pytest.mark.parametrize("case", list(PACKAGE_LOOPS))
def test_check_train_wants_the_students_own_steps(case, capsys):
    fn, hint = PACKAGE_LOOPS[case]
    d_step, g_step = ge.algorithm.d_step, ge.algorithm.g_step
    result, out = outcome(loop.check_train, fn, capsys)
    assert result is False and "not yet" in out and hint.lower() in out.lower(), out
    assert ge.algorithm.d_step is d_step and ge.algorithm.g_step is g_step


WRONG_TRAINS = {
    "G's fake label": (make_train(g_step=make_g_step(label=0.0)), "you trained G with the *fake* label"),
    "D's labels swapped": (make_train(d_step=make_d_step(labels=(0.0, 1.0))), "the labels are swapped"),
    "G never trained": (make_train(train_g=False), "G's weights never changed"),
    "one real batch": (make_train(one_batch=True), "drew 1 real batch(es) for 400 rounds"),
    "rounds ignored": (make_train(rounds=10), "drew 11 real batch(es)"),
    "learning rates too small": (make_train(lr_d=1e-5, lr_g=1e-5), "small ones make it crawl"),
    "a step that raises": (make_train(d_step=lambda G, D, opt_d, real, noise: D(noise(len(real)) @ torch.ones(2, 2))),
                           "raised RuntimeError"),
}


@pytest.mark.parametrize("mistake", list(WRONG_TRAINS))
def test_check_train_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_TRAINS[mistake]
    result, out = outcome(loop.check_train, fn, capsys)
    assert result is False and "not yet" in out and hint.lower() in out.lower(), out


def test_check_train_says_what_became_of_g(capsys):
    result, out = outcome(loop.check_train, make_train(g_step=make_g_step(label=0.0)), capsys)
    assert result is False and "After 400 rounds G's samples have mean -" in out and "the data: 4 and 0.5" in out


@pytest.mark.parametrize("out, hint", [
    (dict(mean=-1.0, std=0.3, d_fake=0.01, d_real=0.9), "G ran away from the data"),
    (dict(mean=0.5, std=0.3, d_fake=0.9, d_real=0.1), "D learned to call the real data fake"),
    (dict(mean=4.0, std=0.01, d_fake=0.5, d_real=0.5), "G collapsed onto about one point"),
    (dict(mean=float("nan"), std=0.3, d_fake=0.5, d_real=0.5), "not finite numbers"),
    (dict(mean=2.0, std=0.3, d_fake=0.2, d_real=0.8), "G is not on the data yet")])
def test_check_train_reads_the_trained_nets_when_the_steps_pass_their_cases(out, hint):
    start = dict(mean=-0.2, std=0.1, d_fake=0.5, d_real=0.5)
    assert hint in loop._outcome_problem(out, start)


# ----------------------------------------------------------------------------- find the bug: what happened
@pytest.mark.parametrize("answer", ["B", "b", " (B) ", "B."])
def test_check_diagnosis_accepts_b(answer, capsys):
    result, out = outcome(loop.check_diagnosis, lambda: answer, capsys)
    assert result is True and out.startswith("check_diagnosis: correct.") and "away from the data" in out


@pytest.mark.parametrize("answer, hint", [("A", "G did not reach the data"), ("C", "G did move"),
                                          ("D", "no loss became NaN"), ("E", "G never came near the data")])
def test_check_diagnosis_says_what_the_run_showed(answer, hint, capsys):
    result, out = outcome(loop.check_diagnosis, lambda: answer, capsys)
    assert result is False and f"Not {answer}: {hint}" in out, out


@pytest.mark.parametrize("answer", [2, "F", "", None, ["B"]])
def test_check_diagnosis_wants_a_letter(answer, capsys):
    result, out = outcome(loop.check_diagnosis, lambda: answer, capsys)
    assert result is False and "return one of the letters a, b, c, d, e" in out.lower()


# ----------------------------------------------------------------------------- find the bug: the fix
def make_round(g_label=0.0, real_label=1.0, fake_label=0.0, detach=False, no_grad=False, sign=1.0,
               d_optimizer_in_step_2=False, reuse=True, zero_g=True, detach_in_step_1=True):
    """The notebook's popular_round (the defaults), with switches for the ways to fix it."""
    def popular_round(G, D, opt_d, opt_g, real, noise):
        label_real, label_fake = torch.full((len(real), 1), real_label), torch.full((len(real), 1), fake_label)
        fake_image = G(noise(len(real)))
        D.zero_grad()
        errD = bce(D(real), label_real) + bce(D(fake_image.detach() if detach_in_step_1 else fake_image), label_fake)
        errD.backward(retain_graph=not detach_in_step_1)
        opt_d.step()
        if zero_g:
            G.zero_grad()
        fake = fake_image if reuse else G(noise(len(real)))
        with torch.set_grad_enabled(not no_grad):
            out = D(fake.detach() if detach else fake)
        errG = sign * bce(out, torch.full((len(real), 1), g_label))
        if errG.requires_grad:
            errG.backward()
        (opt_d if d_optimizer_in_step_2 else opt_g).step()
        return errD.item(), errG.item()
    return popular_round


def fixed_round(G, D, opt_d, opt_g, real, noise):
    """The notebook's answer: the package's Step 1, then Step 2 with the real label."""
    loss_d = ge.algorithm.d_step(G, D, opt_d, real, noise)[0]
    fake_logits = D(G(noise(len(real))))
    loss_g = bce(fake_logits, torch.ones_like(fake_logits))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.item()


def round_of_own_steps(G, D, opt_d, opt_g, real, noise):
    """The student's steps of exercises 2 and 3 (not the package's) make a right round."""
    loss_d = make_d_step()(G, D, opt_d, real, noise)
    return loss_d.item(), make_g_step()(G, D, opt_g, len(real), noise).item()


@pytest.mark.parametrize("fn", [fixed_round, make_round(g_label=1.0), make_round(g_label=1.0, reuse=False),
                                round_of_own_steps],
                         ids=["the notebook's answer", "label_real in Step 2", "fresh fakes in Step 2",
                              "the student's own steps"])
def test_check_fix_accepts_right_answers(fn, capsys):
    result, out = outcome(loop.check_fix, fn, capsys)
    assert result is True and out.startswith("check_fix: correct. Trained 400 rounds") and out.count("\n") == 1, out


def package_step_2(G, D, opt_d, opt_g, real, noise):
    loss_d = ge.algorithm.d_step(G, D, opt_d, real, noise)[0]
    return loss_d.item(), ge.algorithm.g_step(G, D, opt_g, len(real), noise).item()


@pytest.mark.parametrize("fn", [failures.algorithm_round, lambda *a: failures.algorithm_round(*a),
                                lambda G, D, opt_d, opt_g, real, noise: ge.algorithm.alternating_round(
                                    G, D, opt_d, opt_g, lambda: real, len(real), noise)[:2],
                                package_step_2],
                         ids=["algorithm_round itself", "a call to it", "alternating_round", "the package's g_step"])
def test_check_fix_wants_the_fix_written(fn, capsys):
    d_step, g_step = ge.algorithm.d_step, ge.algorithm.g_step
    result, out = outcome(loop.check_fix, fn, capsys)
    assert result is False and "write the fix yourself" in out, out
    assert ge.algorithm.d_step is d_step and ge.algorithm.g_step is g_step


def test_check_fix_accepts_labels_swapped_throughout_with_a_note(capsys):
    result, out = outcome(loop.check_fix, make_round(g_label=0.0, real_label=0.0, fake_label=1.0), capsys)
    assert result is True and "the same game with the names of the labels exchanged" in out


WRONG_FIXES = {
    "fake label kept": (make_round(), "still gives the fakes the fake label"),
    "gradient blocked by detach": (make_round(g_label=1.0, detach=True), "no gradient reached G in Step 2"),
    "gradient blocked by no_grad": (make_round(g_label=1.0, no_grad=True), "no gradient reached G in Step 2"),
    "D's optimizer stepped": (make_round(g_label=1.0, d_optimizer_in_step_2=True), "D's optimizer stepped in Step 2"),
    "labels swapped everywhere": (make_round(g_label=1.0, real_label=0.0, fake_label=1.0), "swapped the labels everywhere"),
    "label_fake changed in Step 0": (make_round(g_label=1.0, fake_label=1.0), "you changed label_fake itself"),
    "sign flipped": (make_round(sign=-1.0), "you flipped the sign of Step 2's loss"),
    "G's gradients not zeroed": (make_round(g_label=1.0, zero_g=False), "zero G's gradients"),
    "detach moved out of Step 1": (make_round(g_label=1.0, detach_in_step_1=False), "gradients reached G during D's step"),
}


@pytest.mark.parametrize("mistake", list(WRONG_FIXES))
def test_check_fix_names_the_mistake(mistake, capsys):
    fn, hint = WRONG_FIXES[mistake]
    result, out = outcome(loop.check_fix, fn, capsys)
    assert result is False and "not yet" in out and hint.lower() in out.lower(), out


# ----------------------------------------------------------------------------- all three
@pytest.mark.parametrize("check", [loop.check_train, loop.check_diagnosis, loop.check_fix])
def test_the_stub_is_not_done_yet(check, capsys):
    result, out = outcome(check, stub, capsys)
    assert result is False and "not done yet" in out and "NotImplementedError" in out, out


@pytest.mark.parametrize("check", [loop.check_train, loop.check_diagnosis, loop.check_fix])
def test_a_non_function_is_refused(check, capsys):
    result, out = outcome(check, "B", capsys)
    assert result is False and "Pass your function itself" in out


def test_warnings_stay_off_stderr(capsys):
    import warnings

    def noisy():
        warnings.warn("a student's warning")
        return "B"

    assert outcome(loop.check_diagnosis, noisy, capsys)[0] is True


def test_the_checkers_leave_the_global_rng_and_threads_alone(capsys):
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    loop.check_train(make_train(rounds=10))
    loop.check_fix(make_round())
    loop.check_diagnosis(lambda: "B")
    assert torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads


def test_the_verdicts_are_deterministic(capsys):
    texts = [outcome(loop.check_train, make_train(g_step=make_g_step(label=0.0)), capsys)[1] for _ in range(2)]
    assert texts[0] == texts[1]


# ----------------------------------------------------------------------------- the package's pieces
def nets(seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return (ge.nets.MLPGenerator(noise_dim=1, data_dim=1, hidden=8, depth=2),
                ge.nets.MLPDiscriminator(data_dim=1, hidden=8, depth=2))


def test_d_step_attached_updates_d_as_d_step_but_fills_gs_grad():
    (G1, D1), (G2, D2) = nets(), nets()
    real = 4 + torch.randn(16, 1, generator=torch.Generator().manual_seed(1))
    for G, D, step in ((G1, D1, ge.algorithm.d_step), (G2, D2, failures.d_step_attached)):
        noise_g = torch.Generator().manual_seed(2)
        step(G, D, torch.optim.SGD(D.parameters(), lr=0.1), real, lambda n: torch.randn(n, 1, generator=noise_g))
    assert all(torch.allclose(a, b) for a, b in zip(D1.parameters(), D2.parameters()))
    assert all(p.grad is None for p in G1.parameters()) and all(p.grad is not None for p in G2.parameters())


def test_train_rounds_records_every_round_and_the_algorithm_round_matches_alternating_round():
    G, D = nets()
    history = failures.train_rounds(G, D, failures.algorithm_round, ge.data.Gaussian1D(seed=0), 5, LR_D, LR_G,
                                    batch=32, z_view=torch.zeros(7, 1))
    assert all(len(history[k]) == 5 for k in ("loss_d", "loss_g", "d_fake", "g_mean", "grad_g"))
    assert history["samples"].shape == (7, 1) and all(g > 0 for g in history["grad_g"])
    G2, D2 = nets()
    opt_d = torch.optim.Adam(D2.parameters(), lr=LR_D, betas=BETAS)
    opt_g = torch.optim.Adam(G2.parameters(), lr=LR_G, betas=BETAS)
    rng, data = torch.Generator().manual_seed(0), ge.data.Gaussian1D(seed=0)
    losses = [ge.algorithm.alternating_round(G2, D2, opt_d, opt_g, lambda: data(32), 32,
                                             lambda n: torch.randn(n, 1, generator=rng))[0].item() for _ in range(5)]
    assert losses == history["loss_d"]
