"""Known faulty variants of the cnn reference: the recurring mistakes of chapter 7, as data.

Trusted code (see reference/mutants.py for how grader.diagnoses uses a catalogue): a mutant names
the reference definitions it replaces; a student's outputs that agree with a mutant's on every
output of a failed check name that mistake. The edits grader/diagnoses/derived.py makes of the
reference by itself (a term dropped, a transpose missing, ...) come on top of these.
"""

from __future__ import annotations

import numpy as np

from reference.cnn.layers import Convolution, Pooling
from reference.cnn.util import col2im, im2col
from reference.mutants import Mutant

# --- im2col and col2im ---------------------------------------------------------------------------


def _im2col_unpadded(input_data: np.ndarray, filter_h: int, filter_w: int, stride: int = 1,
                     pad: int = 0) -> np.ndarray:
    """The output size with pad, the image without it: the image in the top-left corner of the
    padded size, zeros where the padding should have been read."""
    N, C, H, W = input_data.shape
    img = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    img[:, :, :H, :W] = input_data
    return im2col(img, filter_h, filter_w, stride, 0)


def _im2col_untransposed(input_data: np.ndarray, filter_h: int, filter_w: int, stride: int = 1,
                         pad: int = 0) -> np.ndarray:
    """(N, C, fh, fw, oh, ow) reshaped as it is: the right numbers in the wrong rows and columns."""
    N, C = input_data.shape[:2]
    col = im2col(input_data, filter_h, filter_w, stride, pad)
    places = col.shape[0] // N
    return col.reshape(N, places, C * filter_h * filter_w).transpose(0, 2, 1).reshape(col.shape)


def _col2im_overwrites(col: np.ndarray, input_shape: tuple[int, ...], filter_h: int, filter_w: int,
                       stride: int = 1, pad: int = 0) -> np.ndarray:
    """`=` where `+=` adds up the overlapping places: each keeps the last value written there."""
    N, C, H, W = input_shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1))
    for y, x in np.ndindex(filter_h, filter_w):
        img[:, :, y:y + stride * out_h:stride, x:x + stride * out_w:stride] = col[..., y, x].transpose(0, 3, 1, 2)
    return img[:, :, pad:H + pad, pad:W + pad]


# --- Convolution and Pooling ---------------------------------------------------------------------

class _ConvOutputUntransposed(Convolution):
    def forward(self, x: np.ndarray) -> np.ndarray:
        out = super().forward(x)
        N, FN, out_h, out_w = out.shape
        # (N, out_h, out_w, FN) read as (N, FN, out_h, out_w): reshape without the transpose
        return np.ascontiguousarray(out.transpose(0, 2, 3, 1)).reshape(N, FN, out_h, out_w)


class _ConvDoutUntransposed(Convolution):
    def backward(self, dout: np.ndarray) -> np.ndarray:
        FN, C, FH, FW = self.W.shape
        dout = dout.reshape(-1, FN)   # no transpose(0, 2, 3, 1) first
        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout).transpose(1, 0).reshape(FN, C, FH, FW)
        return col2im(np.dot(dout, self.col_W.T), self.x.shape, FH, FW, self.stride, self.pad)


class _ConvDWUntransposed(Convolution):
    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = super().backward(dout)
        FN, C, FH, FW = self.W.shape
        self.dW = np.dot(self.col.T, dout.transpose(0, 2, 3, 1).reshape(-1, FN)).reshape(FN, C, FH, FW)
        return dx


class _PoolingAverage(Pooling):
    """Average pooling, forward and backward: the region's mean, dout shared out over the region."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        N, C, H, W = x.shape
        out_h = int(1 + (H - self.pool_h) / self.stride)
        out_w = int(1 + (W - self.pool_w) / self.stride)
        col = im2col(x, self.pool_h, self.pool_w, self.stride, self.pad).reshape(-1, self.pool_h * self.pool_w)
        self.x = x
        return np.mean(col, axis=1).reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        pool_size = self.pool_h * self.pool_w
        dcol = np.repeat(dout.transpose(0, 2, 3, 1).reshape(-1, 1) / pool_size, pool_size, axis=1)
        return col2im(dcol.reshape(-1, self.x.shape[1] * pool_size), self.x.shape, self.pool_h, self.pool_w,
                      self.stride, self.pad)


class _PoolingBackwardEverywhere(Pooling):
    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout sent to every place of its region, not only to the maximum's."""
        pool_size = self.pool_h * self.pool_w
        dcol = np.repeat(dout.transpose(0, 2, 3, 1).reshape(-1, 1), pool_size, axis=1)
        return col2im(dcol.reshape(-1, self.x.shape[1] * pool_size), self.x.shape, self.pool_h, self.pool_w,
                      self.stride, self.pad)


MUTANTS: tuple[Mutant, ...] = (
    Mutant("im2col_padding_not_applied", ("im2col",), {"im2col": _im2col_unpadded}),
    Mutant("im2col_not_transposed", ("im2col",), {"im2col": _im2col_untransposed}),
    Mutant("col2im_overwrites", ("col2im",), {"col2im": _col2im_overwrites}),
    Mutant("conv_output_not_transposed", ("Convolution",), {"Convolution": _ConvOutputUntransposed}),
    Mutant("conv_dout_not_transposed", ("Convolution",), {"Convolution": _ConvDoutUntransposed}),
    Mutant("conv_dW_not_transposed", ("Convolution",), {"Convolution": _ConvDWUntransposed}),
    Mutant("pooling_average", ("Pooling",), {"Pooling": _PoolingAverage}),
    Mutant("pooling_backward_everywhere", ("Pooling",), {"Pooling": _PoolingBackwardEverywhere}),
)

__all__ = ["MUTANTS"]
