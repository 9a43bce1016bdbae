"""NN501 overfit-one-batch."""

from __future__ import annotations

from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Severity
from nnlint.overfit import ENV_SWITCH, open_plans
from nnlint.registry import Rule, register
from nnlint.message import t


@register
class OverfitOneBatch(Rule):
    """
    ## What it does
    Notes training loops that are not preceded by an "overfit one batch" sanity
    check. Opt-in (`select = ["NN501"]`), information level, and it never changes
    code by itself: the editor offers a code lens "Overfit one batch first" (and a
    code action) above each training loop that inserts the check.

    ## Why is this bad?
    Many training bugs do not crash: probabilities fed to a loss that expects
    logits, a frozen backbone, a learning rate off by three orders of magnitude, a
    missing `zero_grad()`. The loss just goes down slowly, or not at all, and hours
    of GPU time are spent before anyone notices. A model that cannot drive the loss
    on a *single* repeated batch towards zero in a few hundred steps has a bug, and
    this test takes seconds.

    ## Example
    ```python
    for epoch in range(10):
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
    ```

    ## Use instead
    ```python
    # --- nnlint: overfit one batch (set NNLINT_OVERFIT=0 to skip) ---
    import copy
    import os

    if os.environ.get("NNLINT_OVERFIT", "1") != "0":
        _nnlint_saved = copy.deepcopy((model.state_dict(), optimizer.state_dict()))
        _nnlint_batch = next(iter(train_loader))
        _nnlint_losses = []
        for _nnlint_step in range(200):
            x, y = _nnlint_batch
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            _nnlint_losses.append(loss.item())
        model.load_state_dict(_nnlint_saved[0])
        optimizer.load_state_dict(_nnlint_saved[1])
        ...  # raises with a clear message unless the loss went towards zero
    # --- end nnlint overfit check ---
    for epoch in range(10):
        ...
    ```
    The check reuses your own statements (batch unpacking, forward pass, loss,
    backward, gradient clipping, step) and names, restores the model and optimizer
    afterwards, and is skipped with `NNLINT_OVERFIT=0`. A loop preceded by the
    check is not reported again.

    ## Fix
    None from `nnlint check --fix`: inserting code that trains is a decision for
    you. Use the editor's "Overfit one batch first" code lens or code action.
    """

    code = "NN501"
    name = "overfit-one-batch"
    severity = Severity.INFORMATION
    summary = "Training loop without an overfit-one-batch sanity check"
    fix_title = None
    enabled_by_default = False
    # Module-wide fact (see `nnlint.reanalysis`): whether a check already sits above a loop is
    # read from the lines above it (`has_overfit_check`), and the end marker can be inside a
    # string of another statement, whose words then include "nnlint" (a marker in a comment
    # is caught by the live analysis itself). Not declared: a module-only method called
    # anywhere on a name proves that a callee spelled the same is the model the message
    # names (`Training.first_model_call` through `module_only_use`).
    module_wide_words = frozenset({"nnlint"})

    def check(self, ctx: Context) -> Iterator[Finding]:
        for plan in open_plans(ctx.source, ctx.semantic):
            model = f"`{plan.model}`" if plan.model else t("the model")
            over = t(" over `{plan_loader_name}`", plan_loader_name=plan.loader_name) if plan.loader_name else ""
            message = (
                t(
                    "training loop{over} ({model}, optimizer `{plan_optimizer}`, loss `{plan_loss}`) has no "
                    "overfit-one-batch check: first make sure the loss on one fixed batch goes towards zero "
                    "(editor action \"Overfit one batch first\"; the check is skipped with {ENV_SWITCH}=0)",
                    over=over,
                    model=model,
                    plan_optimizer=plan.optimizer,
                    plan_loss=plan.loss,
                    ENV_SWITCH=ENV_SWITCH,
                )
            )
            related = []
            if plan.loop is not plan.anchor:
                related.append(ctx.related(plan.loop, t("the loop over the data")))
            related.append(ctx.related(plan.statements[-1], t("the backward pass the check would repeat")))
            yield ctx.finding(self, ctx.head_span(plan.anchor), message, related)
