//! The ABI as data: every constant of [`super`] with its group and documentation, and the
//! request vocabulary, so that other hosts' constants and `ABI.md`'s tables are generated from
//! the one Rust definition (`wasm-guest/tests/generated.rs` writes and checks them).

/// One ABI constant, as declared in `abi.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constant {
    /// Which table of `ABI.md` it belongs to (e.g. `request`, `cell`, `decide`).
    pub group: &'static str,
    /// Its Rust name, which every generated host keeps.
    pub name: &'static str,
    /// Its doc comment, one entry per line.
    pub doc: &'static [&'static str],
    /// Its value, written verbatim into the generated constants and tables.
    pub value: ConstValue,
}

/// The value of an ABI constant, in the few shapes the ABI uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstValue {
    /// Offsets, sizes, codes, versions, limits.
    Int(i64),
    /// Export and section names.
    Str(&'static str),
    /// Lists of names (the revocation lists).
    StrList(&'static [&'static str]),
}

/// Converts a constant of any type the ABI uses into a [`ConstValue`], so constants of
/// different Rust types can be listed in one `Vec`.
pub trait AbiValue {
    /// This constant's value, in the shape the generators read.
    fn described(&'static self) -> ConstValue;
}

macro_rules! int_value {
    ($($ty:ty),*) => {$(
        impl AbiValue for $ty {
            fn described(&'static self) -> ConstValue {
                // Every ABI integer fits in i64 (the largest is a u32 or a 2^30 limit).
                ConstValue::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_value!(u16, i32, u32, usize);

impl AbiValue for &'static str {
    fn described(&'static self) -> ConstValue {
        ConstValue::Str(self)
    }
}

impl<const N: usize> AbiValue for [&'static str; N] {
    fn described(&'static self) -> ConstValue {
        ConstValue::StrList(self)
    }
}

/// Declares the ABI constants, each under a group, and [`super::constants`] listing them all:
/// the one place a constant's name, value and meaning are written.
macro_rules! abi_constants {
    ($( $group:literal { $( $(#[doc = $doc:literal])* $name:ident : $ty:ty = $value:expr ; )* } )*) => {
        $( $( $(#[doc = $doc])* pub const $name: $ty = $value; )* )*

        /// Every ABI constant with its group and documentation, in declaration order: the
        /// source the other hosts' constants and `ABI.md`'s tables are generated from.
        pub fn constants() -> Vec<described::Constant> {
            use described::AbiValue as _;
            vec![$( $( described::Constant {
                group: $group,
                name: stringify!($name),
                doc: &[$($doc),*],
                value: $name.described(),
            }, )* )*]
        }
    };
}
pub(crate) use abi_constants;
