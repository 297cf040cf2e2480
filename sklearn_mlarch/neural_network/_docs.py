"""Parameter documentation shared by the neural estimators, written once."""

# the training settings, in the estimators' signature order: a classifier
# documents class_weight (CLASSIFIER_PARAMS) between the two parts
ENGINE_PARAMS = """\
    max_epochs : int or 'auto', default=%(max_epochs)s
        Epochs trained by ``fit`` (``partial_fit`` trains exactly one).
        ``'auto'`` counts the budget in optimizer steps instead: enough
        epochs for about 1,500 steps, at least 10 and at most 1,000. A data
        set of 36 samples then gets 500 epochs of 3 batches (30 epochs
        would be 90 steps), one of 1,437 gets 66, one of 60,000 gets 10. For large data
        sets, set an int or use ``early_stopping``.
    batch_size : int, 'auto' or 'full', default=%(batch_size)s
        Mini-batch size; ``'full'`` uses all samples in one batch, ``'auto'``
        a tenth of the training samples within [16, 64].
    lr : float, default=%(lr)s
        Learning rate.
    lr_schedule : {'plateau', 'constant'}, default='plateau'
        ``'plateau'`` halves the learning rate at the 21st epoch in a row
        without a relative improvement of 1e-4 in the training loss, down
        to a tenth of ``lr`` (of ``trunk_lr`` for the trunk) (the
        recipe of Wang et al. 2017's fully convolutional network, which
        steadies small data sets; ``benchmarks/RESULTS.md`` shows its
        effect). Its state carries over warm starts, so ``k`` epochs then
        ``m`` more still equal ``k + m``. ``history_`` records the rate of
        each epoch as ``event_lr`` (the first parameter group's).
        ``'constant'`` keeps ``lr``. Not added
        when ``callbacks`` hold a ``skorch.callbacks.LRScheduler``.
    optimizer : {'adam', 'adamw', 'sgd', 'rmsprop'} or torch optimizer class, \
default='adam'
        Optimizer.
    optimizer_kwargs : dict, default=None
        Extra optimizer arguments, e.g. ``{'momentum': 0.9}`` for SGD. Adam
        and AdamW use torch's fused kernel where torch has one for the
        device (on the CPU since torch 2.4: about a sixth faster per step
        for a small CNN); ``{'fused': False}`` or ``{'foreach': ...}``
        chooses another implementation.
    weight_decay : float, default=0.0
        L2 penalty passed to the optimizer.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        classifiers), stop when the validation loss has not improved by
        ``tol`` for ``n_iter_no_change`` epochs and restore the best weights,
        as :class:`~sklearn.neural_network.MLPClassifier` does. Without it,
        ``fit`` trains ``max_epochs`` epochs.
    validation_fraction : float, default=0.1
        Fraction held out when ``early_stopping=True``.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Least validation-loss improvement that counts for early stopping.
    warm_start : bool, default=False
        When True, ``fit`` on a fitted estimator continues training from the
        current weights instead of starting anew.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation
        split. An int gives identical models on every fit.
    device : {'cpu', 'cuda', 'auto'} or torch.device, default='cpu'
        Where to train; ``'auto'`` takes CUDA when available. A model
        trained on a GPU unpickles on a CPU-only machine.
    dtype : {'float32', 'float64'}, default='float32'
        Floating point precision of the network; inputs of any numeric dtype
        are cast to it.
    verbose : int or 'bar', default=0
        0: silent. 1 (or more): a line per epoch with the epoch out of
        ``max_epochs``, the time elapsed and left, the training loss and,
        with ``early_stopping``, the validation loss and accuracy (R² for
        a regressor). ``'bar'``: a tqdm progress bar instead (needs
        ``pip install tqdm``), for a terminal or a notebook.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks, e.g. ``skorch.callbacks.LRScheduler``. They
        are copied into the net (``net_.callbacks_``); yours stay unchanged."""

TRANSFER_PARAMS = """\
    init_from : fitted estimator or path, default=None
        Transfer learning: start from the weights of a fitted estimator of
        this package, or of a model saved with
        :func:`~sklearn_mlarch.save_model`. The trunk is copied (it must have
        the same architecture); the head too when the outputs are the same
        (same classes), else a new head is trained. Inside ``cross_val_score``
        or a search, give a path or wrap the estimator in
        :class:`sklearn.frozen.FrozenEstimator`, which cloning keeps fitted.
    freeze : str or list of str, default=None
        Blocks not trained, by name (``'trunk'``, ``'trunk.conv0'``) or
        pattern of parameter names (``'trunk.*.weight'``).
    unfreeze_after : int, default=None
        Train the frozen blocks again after this many epochs (None: never).
    trunk_lr : float, default=None
        Learning rate of the trunk (``trunk.*``), e.g. lower than ``lr`` to
        fine-tune a transferred trunk gently; None uses ``lr``."""

TRAINING_PARAMS = ENGINE_PARAMS + "\n" + TRANSFER_PARAMS

CLASSIFIER_PARAMS = """\
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``."""

CLASSIFIER_ATTRIBUTES = """\
    classes_ : ndarray of shape (n_classes,)
        Class labels."""

FITTED_ATTRIBUTES = """\
    n_features_in_ : int
        Number of features seen in fit (flattened size of one sample).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when X was a DataFrame with string columns.
    input_shape_ : tuple of int
        Shape of one sample as given to the network.
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the torch network.
    history_ : skorch.History
        Per-epoch losses and timings.
    n_iter_ : int
        Epochs trained in total."""


def fill_doc(max_epochs, lr, batch_size=64, **sections):
    """Class decorator filling ``%(name)s`` fields of the class docstring.

    ``%(training_params)s`` and ``%(fitted_attributes)s`` are always
    available; ``sections`` adds family-specific ones (architecture
    parameters), so each text is written once. A classifier, whose
    ``class_weight`` comes between ``callbacks`` and ``init_from`` in its
    signature, writes ``%(engine_params)s``, ``%(classifier_params)s`` and
    ``%(transfer_params)s`` instead of ``%(training_params)s``.
    """
    defaults = {"%(max_epochs)s": repr(max_epochs), "%(lr)s": str(lr),
                "%(batch_size)s": repr(batch_size)}

    def filled(text):
        for field, value in defaults.items():
            text = text.replace(field, value)
        return text

    fields = {"training_params": filled(TRAINING_PARAMS), "engine_params": filled(ENGINE_PARAMS),
              "transfer_params": TRANSFER_PARAMS,
              "fitted_attributes": FITTED_ATTRIBUTES, "classifier_params": CLASSIFIER_PARAMS,
              "classifier_attributes": CLASSIFIER_ATTRIBUTES, **sections}

    def decorate(cls):
        cls.__doc__ = cls.__doc__ % fields
        return cls

    return decorate
