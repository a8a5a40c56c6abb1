//! Softmax and log-softmax along an axis (numerically stable).

use crate::element::Element;
use crate::error::Result;
use crate::kernels;
use crate::op::Op;
use crate::tape::Tensor;

impl<'t, T: Element> Tensor<'t, T> {
    /// `exp(x) / sum(exp(x))` along `axis` (as `torch.softmax`), stable for logits of ±1e4.
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`](crate::Error::AxisOutOfRange).
    #[track_caller]
    pub fn softmax(self, axis: isize) -> Result<Tensor<'t, T>> {
        let (v, axis) = {
            let x = self.value_ref();
            let axis = x.shape().check_axis("softmax", axis)?;
            (kernels::softmax(&x, axis), axis)
        };
        Ok(self.record(Op::Softmax { x: self.id, axis }, v))
    }

    /// `x - log(sum(exp(x)))` along `axis` (as `torch.log_softmax`), computed stably.
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`](crate::Error::AxisOutOfRange).
    #[track_caller]
    pub fn log_softmax(self, axis: isize) -> Result<Tensor<'t, T>> {
        let (v, axis) = {
            let x = self.value_ref();
            let axis = x.shape().check_axis("log_softmax", axis)?;
            (kernels::log_softmax(&x, axis), axis)
        };
        Ok(self.record(Op::LogSoftmax { x: self.id, axis }, v))
    }
}
