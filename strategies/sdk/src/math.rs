//! Transcendental functions that come out the same, bit for bit, natively, on every engine tier
//! and in the browser: the software `libm` everywhere, and inside a Wasm guest a host call.
//!
//! A Wasm guest imports each function it uses as `lockstep.math.NAME` ([`HOST_FUNCTIONS`]); the
//! host computes it with the same `libm` code the guest would have compiled in, natively, and
//! charges the call a fixed fuel. A native build calls `libm` directly. Either way the result
//! is the same bits, so a strategy's digest does not depend on where its math ran.

/// How a host function is called: one `f64` in, or two.
#[derive(Clone, Copy, Debug)]
pub enum MathFn {
    /// `(f64) -> f64`.
    Unary(fn(f64) -> f64),
    /// `(f64, f64) -> f64`.
    Binary(fn(f64, f64) -> f64),
}

/// One host math function: its import name under the `lockstep` module, its code and the fuel
/// a call costs (about what the same function costs compiled into the guest, at one unit per
/// operator, so a fuel budget means the same either way).
#[derive(Clone, Copy, Debug)]
pub struct HostMath {
    /// Import name (`math.exp`), under the module `lockstep`.
    pub name: &'static str,
    /// The implementation.
    pub func: MathFn,
    /// Fuel charged per call.
    pub fuel: u32,
}

/// Every function a guest may import as `lockstep.math.*`, and nothing else.
pub const HOST_FUNCTIONS: &[HostMath] = &[
    HostMath { name: "math.exp", func: MathFn::Unary(libm::exp), fuel: 60 },
    HostMath { name: "math.expm1", func: MathFn::Unary(libm::expm1), fuel: 70 },
    HostMath { name: "math.ln", func: MathFn::Unary(libm::log), fuel: 70 },
    HostMath { name: "math.log1p", func: MathFn::Unary(libm::log1p), fuel: 70 },
    HostMath { name: "math.log2", func: MathFn::Unary(libm::log2), fuel: 70 },
    HostMath { name: "math.log10", func: MathFn::Unary(libm::log10), fuel: 70 },
    HostMath { name: "math.erf", func: MathFn::Unary(libm::erf), fuel: 90 },
    HostMath { name: "math.erfc", func: MathFn::Unary(libm::erfc), fuel: 90 },
    HostMath { name: "math.sin", func: MathFn::Unary(libm::sin), fuel: 100 },
    HostMath { name: "math.cos", func: MathFn::Unary(libm::cos), fuel: 100 },
    HostMath { name: "math.tanh", func: MathFn::Unary(libm::tanh), fuel: 90 },
    HostMath { name: "math.pow", func: MathFn::Binary(libm::pow), fuel: 250 },
];

/// The host function imported as `lockstep.NAME`, if `NAME` is one.
pub fn host_function(name: &str) -> Option<&'static HostMath> {
    HOST_FUNCTIONS.iter().find(|m| m.name == name)
}

macro_rules! unary {
    ($($(#[$doc:meta])* $name:ident => $libm:ident;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name(x: f64) -> f64 {
            #[cfg(target_arch = "wasm32")]
            {
                crate::guest::math::$name(x)
            }
            #[cfg(not(target_arch = "wasm32"))]
            {
                libm::$libm(x)
            }
        }
    )*};
}

unary! {
    /// e^x.
    exp => exp;
    /// e^x − 1, exact near 0.
    expm1 => expm1;
    /// The natural logarithm.
    ln => log;
    /// ln(1 + x), exact near 0.
    log1p => log1p;
    /// The base-2 logarithm.
    log2 => log2;
    /// The base-10 logarithm.
    log10 => log10;
    /// The error function.
    erf => erf;
    /// The complementary error function, 1 − erf(x), exact in the tails.
    erfc => erfc;
    /// The sine.
    sin => sin;
    /// The cosine.
    cos => cos;
    /// The hyperbolic tangent.
    tanh => tanh;
}

/// x^y.
#[inline]
pub fn pow(x: f64, y: f64) -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        crate::guest::math::pow(x, y)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        libm::pow(x, y)
    }
}

/// The square root: a WebAssembly instruction (`f64.sqrt`, correctly rounded), so no host call.
#[inline]
pub fn sqrt(x: f64) -> f64 {
    libm::sqrt(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_and_the_functions_agree_and_names_are_unique() {
        let mut names: Vec<_> = HOST_FUNCTIONS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), HOST_FUNCTIONS.len());
        type Unary = fn(f64) -> f64;
        let unary: [(&str, Unary); 11] = [
            ("math.exp", exp),
            ("math.expm1", expm1),
            ("math.ln", ln),
            ("math.log1p", log1p),
            ("math.log2", log2),
            ("math.log10", log10),
            ("math.erf", erf),
            ("math.erfc", erfc),
            ("math.sin", sin),
            ("math.cos", cos),
            ("math.tanh", tanh),
        ];
        for (name, f) in unary {
            let Some(HostMath { func: MathFn::Unary(g), .. }) = host_function(name) else {
                panic!("{name} missing or not unary");
            };
            for x in [-3.5, -0.1, 0.0, 1e-9, 0.7, 2.0, 30.0] {
                assert_eq!(f(x).to_bits(), g(x).to_bits(), "{name}({x})");
            }
        }
        let Some(HostMath { func: MathFn::Binary(p), .. }) = host_function("math.pow") else {
            panic!("math.pow missing");
        };
        assert_eq!(p(1.03, -20.0).to_bits(), pow(1.03, -20.0).to_bits());
        assert!(host_function("math.gamma").is_none());
    }
}
