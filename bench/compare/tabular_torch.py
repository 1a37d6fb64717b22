#!/usr/bin/python3
# bench/compare/tabular_torch.py: the PyTorch reference for nnfuse's tabular samples (issue 18 item 6). It
# trains, on the three tabular data sets that Debian's python3-sklearn ships, the same models as the samples,
# with the same split, standardization, init scheme, optimizer and epochs, and prints the test metrics (mean
# and sample standard deviation over the seeds: the noise nnfuse's results are compared against) and the
# training time per epoch, so the README can put nnfuse and PyTorch side by side.
#
# Contract (the nnfuse samples implement exactly the same):
# - data: /usr/lib/python3/dist-packages/sklearn/datasets/data/ (--data-dir), read with numpy:
#     breast_cancer.csv   first line "569,30,malignant,benign", then 30 features and the target 0/1;
#     wine_data.csv       first line "178,13,class_0,class_1,class_2", then 13 features and the class 0..2;
#     diabetes_data_raw.csv.gz (442 rows of 10 space-separated features, no header) with
#     diabetes_target.csv.gz (442 targets, about 25..346).
#   Shapes are checked against the header (and 442 x 10 for diabetes); a missing directory or file exits 2
#   naming the package python3-sklearn; a malformed file exits 2 naming the file.
# - split: row i (file order, 0-based) is a test row when i % 5 == 4, else a training row. Test / training
#   rows: breast_cancer 113 / 456, wine 35 / 143, diabetes 88 / 354.
# - standardization (Keras Normalization adapted on the training rows only): per feature the mean and the
#   population variance in float64, rounded to float32; y = (x - mean) / max(sqrt(var), 1e-7) in float32.
#   It is the model's first layer (fixed buffers), so its cost is part of the epoch time, as in Keras.
# - models (Keras defaults: Dense kernels glorot_uniform, biases zeros; BatchNormalization gamma 1, beta 0,
#   momentum 0.99 (Keras) = 0.01 (torch), epsilon 1e-3; BN before the activation):
#     breast_cancer  30 -> Normalization -> Dense(16, use_bias=False) -> BN -> ReLU -> Dense(1) + sigmoid;
#                    binary cross-entropy on the logit (BCEWithLogits); metric binary_accuracy (p > 0.5).
#     wine           13 -> Normalization -> Dense(16, use_bias=False) -> BN -> ReLU -> Dense(3) + softmax;
#                    sparse categorical cross-entropy; metric accuracy (argmax).
#     diabetes       10 -> Normalization -> Dense(32, use_bias=False) -> BN -> ReLU -> Dense(1);
#                    mean squared error on the raw target (no target scaling); metrics mae, rmse and
#                    R² = 1 - SS_res / SS_tot over the test rows.
# - BN semantics: Keras's. Training normalizes with the batch mean and biased variance; the moving averages
#   take moving = 0.99 * moving + 0.01 * batch with the biased batch variance (torch's BatchNorm1d would fold
#   in the unbiased one); evaluation uses the moving statistics.
# - optimizer: Adam with Keras's rule (lr 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7 outside the sqrt:
#   w -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon), the step size in double, as
#   nnfuse's runtime/optim/adam.hpp). torch.optim.Adam adds epsilon * sqrt(1 - beta_2^t) instead.
#   --native trains with torch.optim.Adam and torch.nn.BatchNorm1d instead (to show those differences are
#   within the noise).
# - batches: 32, the training rows shuffled each epoch (torch.randperm); a final batch of ONE sample is merged
#   into the batch before it, so BN never sees a single sample (none of these splits leaves one: 456, 143 and
#   354 rows leave final batches of 8, 15 and 2). The loss minimized per batch is the batch mean; the epoch's
#   training loss reported is the mean over its samples, in training mode (as Keras's fit reports it).
# - seeds: for each seed (default 42..46) torch.manual_seed(seed) before the model is built; the
#   initialization and every epoch's shuffle draw from that generator.
# - epochs (default per data set; --epochs overrides all): breast_cancer 100, wine 100, diabetes 500, the
#   smallest round counts where the test metrics have plateaued at lr 1e-3 (measured with --trace, mean of
#   the 5 seeds): breast_cancer's test accuracy is flat (0.98..0.99) from epoch 50 and its test loss is
#   lowest near 100..200 (it overfits after 200); wine's test accuracy is flat (0.99) from epoch 75;
#   diabetes's test mse falls to 3456 at epoch 200 and stays in 3280..3340 from epoch 350 to 1000.
# - timing: one thread (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1); an epoch's time is the wall time
#   of its training loop (shuffle, batches, forward, backward, update), excluding evaluation; the table gives
#   the mean over all epochs and seeds.
# - output: a markdown table on stdout, one row per data set: test metrics as mean ± sample std (n - 1) over
#   the seeds, the test loss, the final epoch's training loss, and milliseconds per epoch; --json FILE also
#   writes every seed's numbers. --trace N prints each seed's test metrics every N epochs to stderr.
#
# Run: bench/compare/tabular_torch.py [--dataset all] [--seeds 42,43,44,45,46] [--epochs N] [--json FILE]
# Needs: python3-torch, python3-sklearn (scripts/setup.sh: nnfuse_install_compare and the main list). Run it
# with Debian's /usr/bin/python3, where those packages are installed.
import argparse
import json
import math
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch loads OpenBLAS: one thread for the GEMMs
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

try:
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402
except ImportError:
    sys.exit("tabular_torch: PyTorch not found: install Debian's python3-torch (apt-get install python3-torch) "
             "and run with /usr/bin/python3")

DEFAULT_DATA_DIR = "/usr/lib/python3/dist-packages/sklearn/datasets/data"
DATASETS = ("breast_cancer", "wine", "diabetes")
DEFAULT_EPOCHS = {"breast_cancer": 100, "wine": 100, "diabetes": 500}
BATCH = 32


class DataError(Exception):
    pass


# ---- data -------------------------------------------------------------------------------------------------

def require_file(path):
    if not os.path.isfile(path):
        raise DataError(f"{path}: not found (it is installed by Debian's python3-sklearn: "
                        f"apt-get install python3-sklearn)")


def load_text(path, delimiter, skip_header):
    require_file(path)
    try:
        table = np.loadtxt(path, delimiter=delimiter, skiprows=skip_header, dtype=np.float64, ndmin=2)
    except ValueError as error:
        # numpy counts rows from 0 after the skipped header lines: say it, so the line can be found
        raise DataError(f"{path}: {error} (rows counted from 0 after {skip_header} header line(s))") from None
    if not np.isfinite(table).all():
        row, column = np.argwhere(~np.isfinite(table))[0]
        raise DataError(f"{path}: line {row + 1 + skip_header} column {column + 1}: {table[row, column]}")
    return table


def load_labeled_csv(path, classes):
    # sklearn's format: "rows,features,class names..." then rows of features and an integer class id.
    require_file(path)
    with open(path) as file:
        header = file.readline().strip().split(",")
    try:
        rows, features = int(header[0]), int(header[1])
    except (ValueError, IndexError):
        raise DataError(f"{path}: line 1: expected 'rows,features,class names', got {','.join(header)!r}")
    table = load_text(path, ",", 1)
    if table.shape != (rows, features + 1):
        raise DataError(f"{path}: {table.shape[0]} rows of {table.shape[1]} columns, header says "
                        f"{rows} rows of {features} features + target")
    labels = table[:, -1]
    if not np.all((labels == np.round(labels)) & (labels >= 0) & (labels < classes)):
        bad = labels[~((labels == np.round(labels)) & (labels >= 0) & (labels < classes))][0]
        raise DataError(f"{path}: target {bad} is not a class id in 0..{classes - 1}")
    return table[:, :-1], labels.astype(np.int64)


def load_dataset(name, data_dir):
    if not os.path.isdir(data_dir):
        raise DataError(f"{data_dir}: no such directory (the data sets are installed by Debian's python3-sklearn: "
                        f"apt-get install python3-sklearn)")
    if name == "breast_cancer":
        x, y = load_labeled_csv(os.path.join(data_dir, "breast_cancer.csv"), 2)
        expected = (569, 30)
    elif name == "wine":
        x, y = load_labeled_csv(os.path.join(data_dir, "wine_data.csv"), 3)
        expected = (178, 13)
    else:
        x = load_text(os.path.join(data_dir, "diabetes_data_raw.csv.gz"), None, 0)
        y = load_text(os.path.join(data_dir, "diabetes_target.csv.gz"), None, 0)
        if y.shape[1] != 1 or y.shape[0] != x.shape[0]:
            raise DataError(f"{data_dir}/diabetes_target.csv.gz: shape {y.shape}, expected ({x.shape[0]}, 1)")
        y = y[:, 0]
        expected = (442, 10)
    if x.shape != expected:
        raise DataError(f"{name}: features of shape {x.shape}, expected {expected}")
    return x, y


def split(rows):
    index = np.arange(rows)
    return index[index % 5 != 4], index[index % 5 == 4]


# ---- model ------------------------------------------------------------------------------------------------

class Standardize(torch.nn.Module):
    """Keras Normalization, adapted once: (x - mean) / max(sqrt(var), 1e-7), fixed buffers."""

    def __init__(self, train_x):
        super().__init__()
        mean = train_x.mean(axis=0).astype(np.float32)  # float64 statistics, rounded to float32
        var = train_x.var(axis=0).astype(np.float32)  # population variance (ddof 0)
        self.register_buffer("mean", torch.from_numpy(mean))
        self.register_buffer("scale", torch.clamp(torch.sqrt(torch.from_numpy(var)), min=1e-7))

    def forward(self, x):
        return (x - self.mean) / self.scale


class KerasBatchNorm1d(torch.nn.BatchNorm1d):
    """BatchNorm1d whose moving variance takes the biased batch variance, as Keras's BatchNormalization."""

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        with torch.no_grad():
            var, mean = torch.var_mean(x, dim=0, unbiased=False)
            self.running_mean.mul_(1 - self.momentum).add_(mean, alpha=self.momentum)
            self.running_var.mul_(1 - self.momentum).add_(var, alpha=self.momentum)
        return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


class KerasAdam(torch.optim.Optimizer):
    """Adam with Keras's rule: epsilon outside the sqrt and not bias-corrected (runtime/optim/adam.hpp)."""

    def __init__(self, params, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(params, dict(lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon))
        self.iterations = 0

    @torch.no_grad()
    def step(self):
        self.iterations += 1
        for group in self.param_groups:
            b1, b2, t = group["beta_1"], group["beta_2"], self.iterations
            alpha = group["lr"] * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)  # in double, as nnfuse
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                m, v = state["m"], state["v"]
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                p.addcdiv_(m, v.sqrt().add_(group["epsilon"]), value=-alpha)


def dense(inputs, outputs, bias):
    layer = torch.nn.Linear(inputs, outputs, bias=bias)
    torch.nn.init.xavier_uniform_(layer.weight)  # glorot_uniform: U(+-sqrt(6 / (in + out)))
    if bias:
        torch.nn.init.zeros_(layer.bias)
    return layer


def build_model(name, train_x, native):
    features = train_x.shape[1]
    hidden, outputs = {"breast_cancer": (16, 1), "wine": (16, 3), "diabetes": (32, 1)}[name]
    norm = (torch.nn.BatchNorm1d if native else KerasBatchNorm1d)(hidden, eps=1e-3, momentum=0.01)
    return torch.nn.Sequential(
        Standardize(train_x), dense(features, hidden, bias=False), norm, torch.nn.ReLU(),
        dense(hidden, outputs, bias=True))


def loss_function(name):
    if name == "breast_cancer":
        return lambda out, y: F.binary_cross_entropy_with_logits(out[:, 0], y)
    if name == "wine":
        return F.cross_entropy
    return lambda out, y: F.mse_loss(out[:, 0], y)


@torch.no_grad()
def evaluate(name, model, x, y, loss):
    model.eval()
    out = model(x)
    result = {"loss": loss(out, y).item()}
    if name == "breast_cancer":
        result["binary_accuracy"] = ((torch.sigmoid(out[:, 0]) > 0.5).float() == y).float().mean().item()
    elif name == "wine":
        result["accuracy"] = (out.argmax(dim=1) == y).float().mean().item()
    else:
        pred, target = out[:, 0].double(), y.double()
        ss_res = ((target - pred) ** 2).sum().item()
        ss_tot = ((target - target.mean()) ** 2).sum().item()
        result["mae"] = (target - pred).abs().mean().item()
        result["rmse"] = math.sqrt(ss_res / len(target))
        result["r2"] = 1 - ss_res / ss_tot
    return result


def batches(permutation):
    # Batches of BATCH rows; a final batch of one row joins the one before it.
    starts = list(range(0, len(permutation), BATCH))
    if len(starts) > 1 and len(permutation) - starts[-1] == 1:
        starts.pop()
    ends = starts[1:] + [len(permutation)]
    return [permutation[s:e] for s, e in zip(starts, ends)]


def train_one_seed(name, data, seed, epochs, native, trace):
    train_x, train_y, test_x, test_y = data
    torch.manual_seed(seed)
    model = build_model(name, train_x, native)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7) if native else KerasAdam(model.parameters())
    loss = loss_function(name)
    x = torch.from_numpy(train_x.astype(np.float32))
    y = torch.from_numpy(train_y.astype(np.int64 if name == "wine" else np.float32))
    tx = torch.from_numpy(test_x.astype(np.float32))
    ty = torch.from_numpy(test_y.astype(np.int64 if name == "wine" else np.float32))
    seconds = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        total = torch.zeros((), dtype=torch.float64)
        for rows in batches(torch.randperm(len(x))):
            batch_loss = loss(model(x[rows]), y[rows])
            optimizer.zero_grad(set_to_none=True)
            batch_loss.backward()
            optimizer.step()
            total += batch_loss.detach().double() * len(rows)
        train_loss = total.item() / len(x)
        seconds += time.perf_counter() - start
        if trace and (epoch % trace == 0 or epoch == epochs):
            metrics = evaluate(name, model, tx, ty, loss)
            print(f"{name} seed {seed} epoch {epoch}: train loss {train_loss:.6g} "
                  + " ".join(f"test {k} {v:.6g}" for k, v in metrics.items()), file=sys.stderr, flush=True)
    result = evaluate(name, model, tx, ty, loss)
    result["train_loss"] = train_loss
    result["seconds_per_epoch"] = seconds / epochs
    return result


def summarize(values):
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def run_dataset(name, args):
    x, y = load_dataset(name, args.data_dir)
    train, test = split(len(x))
    data = (x[train], y[train], x[test], y[test])
    epochs = args.epochs or DEFAULT_EPOCHS[name]
    runs = {seed: train_one_seed(name, data, seed, epochs, args.native, args.trace) for seed in args.seeds}
    keys = list(next(iter(runs.values())).keys())
    summary = {k: summarize([r[k] for r in runs.values()]) for k in keys}
    return {"dataset": name, "epochs": epochs, "train_rows": len(train), "test_rows": len(test),
            "seeds": {str(s): r for s, r in runs.items()},
            "mean": {k: m for k, (m, _) in summary.items()}, "std": {k: s for k, (_, s) in summary.items()}}


def fmt(result, key, digits):
    return f"{result['mean'][key]:.{digits}f} ± {result['std'][key]:.{digits}f}"


def table(results):
    lines = ["| data set | epochs | train / test rows | test metrics (mean ± std over seeds) | test loss "
             "| final training loss | ms / epoch |",
             "| --- | ---: | ---: | --- | ---: | ---: | ---: |"]
    for r in results:
        metrics = {"breast_cancer": [("binary_accuracy", 4)], "wine": [("accuracy", 4)],
                   "diabetes": [("mae", 2), ("rmse", 2), ("r2", 4)]}[r["dataset"]]
        cells = ", ".join(f"{k} {fmt(r, k, d)}" for k, d in metrics)
        digits = 1 if r["dataset"] == "diabetes" else 4
        lines.append(f"| {r['dataset']} | {r['epochs']} | {r['train_rows']} / {r['test_rows']} | {cells} "
                     f"| {fmt(r, 'loss', digits)} | {fmt(r, 'train_loss', digits)} "
                     f"| {1000 * r['mean']['seconds_per_epoch']:.2f} |")
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description="PyTorch reference for nnfuse's tabular samples "
                                     "(breast_cancer, wine, diabetes from python3-sklearn).")
    parser.add_argument("--dataset", choices=DATASETS + ("all",), default="all")
    parser.add_argument("--seeds", default="42,43,44,45,46", help="comma-separated torch seeds")
    parser.add_argument("--epochs", type=int, help="epochs for every data set (default: per data set)")
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", metavar="FILE", help="also write every seed's results as JSON")
    parser.add_argument("--native", action="store_true",
                        help="torch.optim.Adam and torch.nn.BatchNorm1d instead of Keras's rules")
    parser.add_argument("--trace", type=int, default=0, metavar="N",
                        help="print each seed's test metrics every N epochs to stderr")
    args = parser.parse_args(argv)
    try:
        args.seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds: expected comma-separated integers, got {args.seeds!r}")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs: must be >= 1, got {args.epochs}")
    if args.trace < 0:
        parser.error(f"--trace: must be >= 0, got {args.trace}")
    return args


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    names = DATASETS if args.dataset == "all" else (args.dataset,)
    try:
        results = [run_dataset(name, args) for name in names]
    except DataError as error:
        print(f"tabular_torch: {error}", file=sys.stderr)
        return 2
    print(f"PyTorch {torch.__version__}, {'native torch' if args.native else 'Keras'} Adam and BN, "
          f"seeds {','.join(map(str, args.seeds))}, one thread")
    print(table(results))
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"torch": torch.__version__, "native": args.native, "results": results}, file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
