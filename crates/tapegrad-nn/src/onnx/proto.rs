//! The messages of the ONNX schema that an exported model uses, as `prost` messages derived by
//! hand from `onnx/onnx.proto` (the ONNX project's schema, `syntax = "proto2"`, package
//! `onnx`; checked against the version of IR 7 and later, whose field numbers and types these
//! fields keep to this day, IR 8 being what [`IR_VERSION`] declares).
//!
//! Every field here has the tag, the wire type and the label of `onnx.proto`: `optional`
//! scalars are `Option`s (proto2 writes them when set, even at their default), and repeated
//! numbers are packed only where the schema says `[packed = true]`. Fields that an export never
//! writes (sub-graphs, sparse tensors, training information, ...) are left out: a decoder skips
//! what it does not know, so a file written by any ONNX tool still decodes into these types.

/// The IR version the files declare: 8 (ONNX 1.12, the release that brought opset 17).
pub const IR_VERSION: i64 = 8;

/// A model: the top-level message of an `.onnx` file (`ModelProto`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The IR version the model targets (`ir_version = 1`).
    #[prost(int64, optional, tag = "1")]
    pub ir_version: Option<i64>,
    /// The operator sets the graph's nodes bind to (`opset_import = 8`).
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// The tool that wrote the model (`producer_name = 2`).
    #[prost(string, optional, tag = "2")]
    pub producer_name: Option<String>,
    /// The tool's version (`producer_version = 3`).
    #[prost(string, optional, tag = "3")]
    pub producer_version: Option<String>,
    /// A reverse-DNS name space for the model (`domain = 4`).
    #[prost(string, optional, tag = "4")]
    pub domain: Option<String>,
    /// The model's own version (`model_version = 5`).
    #[prost(int64, optional, tag = "5")]
    pub model_version: Option<i64>,
    /// Human-readable documentation (`doc_string = 6`).
    #[prost(string, optional, tag = "6")]
    pub doc_string: Option<String>,
    /// The computation (`graph = 7`).
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// Named metadata (`metadata_props = 14`).
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// A key-value pair (`StringStringEntryProto`), the schema's stand-in for a map entry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// The key (`key = 1`).
    #[prost(string, optional, tag = "1")]
    pub key: Option<String>,
    /// The value (`value = 2`).
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// An operator set a model imports (`OperatorSetIdProto`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// The domain; empty or absent is the default ONNX operator set (`domain = 1`).
    #[prost(string, optional, tag = "1")]
    pub domain: Option<String>,
    /// The operator set's version (`version = 2`).
    #[prost(int64, optional, tag = "2")]
    pub version: Option<i64>,
}

/// A computation graph (`GraphProto`): nodes in topological order, the constant tensors they
/// read, and the graph's inputs and outputs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// The nodes, sorted topologically (`node = 1`).
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// The graph's name (`name = 2`).
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
    /// Named constant tensors: the weights (`initializer = 5`).
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// Human-readable documentation (`doc_string = 10`).
    #[prost(string, optional, tag = "10")]
    pub doc_string: Option<String>,
    /// The graph's inputs (`input = 11`).
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// The graph's outputs (`output = 12`).
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    /// Types and shapes of intermediate values (`value_info = 13`).
    #[prost(message, repeated, tag = "13")]
    pub value_info: Vec<ValueInfoProto>,
}

/// One operator application (`NodeProto`): inputs and outputs are value names.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// The names of the values it reads; an empty name is an omitted optional input
    /// (`input = 1`).
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// The names of the values it produces (`output = 2`).
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// The node's own name (`name = 3`).
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
    /// The operator, e.g. `Gemm` (`op_type = 4`).
    #[prost(string, optional, tag = "4")]
    pub op_type: Option<String>,
    /// The operator's domain; absent is the default ONNX domain (`domain = 7`).
    #[prost(string, optional, tag = "7")]
    pub domain: Option<String>,
    /// The operator's attributes (`attribute = 5`).
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    /// Human-readable documentation (`doc_string = 6`).
    #[prost(string, optional, tag = "6")]
    pub doc_string: Option<String>,
}

/// A named attribute of a node (`AttributeProto`): exactly one of the value fields is set,
/// the one [`AttributeType`] names.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// The attribute's name (`name = 1`).
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Human-readable documentation (`doc_string = 13`).
    #[prost(string, optional, tag = "13")]
    pub doc_string: Option<String>,
    /// Which value field is set, an [`AttributeType`] (`type = 20`).
    #[prost(enumeration = "AttributeType", optional, tag = "20")]
    pub r#type: Option<i32>,
    /// A float (`f = 2`).
    #[prost(float, optional, tag = "2")]
    pub f: Option<f32>,
    /// An integer (`i = 3`).
    #[prost(int64, optional, tag = "3")]
    pub i: Option<i64>,
    /// A UTF-8 string (`s = 4`).
    #[prost(bytes = "vec", optional, tag = "4")]
    pub s: Option<Vec<u8>>,
    /// A tensor (`t = 5`).
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    /// A list of floats (`floats = 7`, not packed in the schema).
    #[prost(float, repeated, packed = "false", tag = "7")]
    pub floats: Vec<f32>,
    /// A list of integers (`ints = 8`, not packed in the schema).
    #[prost(int64, repeated, packed = "false", tag = "8")]
    pub ints: Vec<i64>,
    /// A list of UTF-8 strings (`strings = 9`).
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
    /// A list of tensors (`tensors = 10`).
    #[prost(message, repeated, tag = "10")]
    pub tensors: Vec<TensorProto>,
}

/// `AttributeProto.AttributeType`: which value field of an [`AttributeProto`] is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AttributeType {
    /// No value (invalid in a model).
    Undefined = 0,
    /// `f`.
    Float = 1,
    /// `i`.
    Int = 2,
    /// `s`.
    String = 3,
    /// `t`.
    Tensor = 4,
    /// `g` (a graph; not written by the export).
    Graph = 5,
    /// `floats`.
    Floats = 6,
    /// `ints`.
    Ints = 7,
    /// `strings`.
    Strings = 8,
    /// `tensors`.
    Tensors = 9,
    /// `graphs` (not written by the export).
    Graphs = 10,
    /// `sparse_tensor` (not written by the export).
    SparseTensor = 11,
    /// `sparse_tensors` (not written by the export).
    SparseTensors = 12,
}

/// A name with a type (`ValueInfoProto`): a graph's input or output.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// The value's name (`name = 1`).
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Its type and shape (`type = 2`).
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
    /// Human-readable documentation (`doc_string = 3`).
    #[prost(string, optional, tag = "3")]
    pub doc_string: Option<String>,
}

/// A type (`TypeProto`); the export uses tensor types only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// The type (`oneof value`; of its members only `tensor_type = 1` is kept here).
    #[prost(oneof = "type_proto::Value", tags = "1")]
    pub value: Option<type_proto::Value>,
    /// A standard denotation of the whole type (`denotation = 6`).
    #[prost(string, optional, tag = "6")]
    pub denotation: Option<String>,
}

/// The messages nested in [`TypeProto`].
pub mod type_proto {
    use super::TensorShapeProto;

    /// A tensor type (`TypeProto.Tensor`): element type and shape.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tensor {
        /// The element type, a [`DataType`](super::DataType) (`elem_type = 1`).
        #[prost(int32, optional, tag = "1")]
        pub elem_type: Option<i32>,
        /// The shape; dimensions may be symbolic (`shape = 2`).
        #[prost(message, optional, tag = "2")]
        pub shape: Option<TensorShapeProto>,
    }

    /// `TypeProto`'s `oneof value`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// A tensor (`tensor_type = 1`).
        #[prost(message, tag = "1")]
        TensorType(Tensor),
    }
}

/// A tensor shape (`TensorShapeProto`): each dimension a number or a symbol.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// The dimensions (`dim = 1`).
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<tensor_shape_proto::Dimension>,
}

/// The messages nested in [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// One dimension (`TensorShapeProto.Dimension`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        /// Its size or its symbol (`oneof value`).
        #[prost(oneof = "dimension::Value", tags = "1, 2")]
        pub value: Option<dimension::Value>,
        /// A standard denotation, e.g. `DATA_BATCH` (`denotation = 3`).
        #[prost(string, optional, tag = "3")]
        pub denotation: Option<String>,
    }

    /// The oneof nested in [`Dimension`].
    pub mod dimension {
        /// A dimension's size or symbol.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Value {
            /// A fixed size (`dim_value = 1`).
            #[prost(int64, tag = "1")]
            DimValue(i64),
            /// A symbolic size, e.g. `batch` (`dim_param = 2`).
            #[prost(string, tag = "2")]
            DimParam(String),
        }
    }
}

/// A tensor's value (`TensorProto`): the export stores weights as little-endian `raw_data`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// The shape (`dims = 1`, not packed in the schema).
    #[prost(int64, repeated, packed = "false", tag = "1")]
    pub dims: Vec<i64>,
    /// The element type, a [`DataType`] (`data_type = 2`).
    #[prost(int32, optional, tag = "2")]
    pub data_type: Option<i32>,
    /// `FLOAT` values (`float_data = 4`, packed).
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// `INT32` and smaller values (`int32_data = 5`, packed).
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    /// `INT64` values (`int64_data = 7`, packed).
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    /// The tensor's name (`name = 8`).
    #[prost(string, optional, tag = "8")]
    pub name: Option<String>,
    /// Human-readable documentation (`doc_string = 12`).
    #[prost(string, optional, tag = "12")]
    pub doc_string: Option<String>,
    /// The values as fixed-width little-endian bytes, row-major (`raw_data = 9`).
    #[prost(bytes = "vec", optional, tag = "9")]
    pub raw_data: Option<Vec<u8>>,
    /// `DOUBLE` values (`double_data = 10`, packed).
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
}

/// `TensorProto.DataType`: element types (the ones tapegrad writes, and the other basic
/// ones, numbered as in the schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DataType {
    /// Not a type.
    Undefined = 0,
    /// 32-bit IEEE float: every value tapegrad exports.
    Float = 1,
    /// `uint8`.
    Uint8 = 2,
    /// `int8`.
    Int8 = 3,
    /// `uint16`.
    Uint16 = 4,
    /// `int16`.
    Int16 = 5,
    /// `int32`.
    Int32 = 6,
    /// `int64`: indices (an [`Embedding`](crate::Embedding)'s lookup).
    Int64 = 7,
    /// Strings.
    String = 8,
    /// Booleans.
    Bool = 9,
    /// 16-bit IEEE float.
    Float16 = 10,
    /// 64-bit IEEE float.
    Double = 11,
}
