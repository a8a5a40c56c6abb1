//! ONNX export, checked from the file's side: the written bytes decode (with `prost`, into
//! the schema's messages) into the graph each model should have (operators, attributes,
//! initializers named and shaped as the parameters, opset 17, the symbolic batch axis); a
//! module without an ONNX form, a shape a layer cannot take, a folder that does not exist and
//! a path that is a folder are errors that name what is wrong and leave no file.

mod common;

use common::{assert_entries, one_param_module, Scratch};
use prost::Message;
use tapegrad_core::{rng, Activation, Array, Conv2dOptions, Error, Param, Result};
use tapegrad_nn::onnx::proto::{
    tensor_shape_proto::dimension::Value as Dim, type_proto, AttributeType, DataType, ModelProto,
    NodeProto, ValueInfoProto,
};
use tapegrad_nn::onnx::{self, OPSET};
use tapegrad_nn::{
    save_onnx, Autoencoder, BatchNorm2d, Conv2d, Dense, Dropout, Embedding, Flatten, Init,
    LayerNorm, MaxPool2d, Mlp, Module, Sequential,
};

fn decode(path: &std::path::Path) -> ModelProto {
    let bytes = std::fs::read(path).expect("read the .onnx file");
    ModelProto::decode(bytes.as_slice()).expect("a valid ModelProto")
}

fn ops(m: &ModelProto) -> Vec<String> {
    let g = m.graph.as_ref().expect("graph");
    g.node.iter().map(|n| n.op_type.clone().unwrap()).collect()
}

/// (name, dims) of every initializer.
fn initializers(m: &ModelProto) -> Vec<(String, Vec<i64>)> {
    let g = m.graph.as_ref().expect("graph");
    g.initializer
        .iter()
        .map(|t| (t.name.clone().unwrap(), t.dims.clone()))
        .collect()
}

/// A value's dims, the symbolic ones by name.
fn dims(v: &ValueInfoProto) -> Vec<String> {
    let Some(type_proto::Value::TensorType(t)) = &v.r#type.as_ref().unwrap().value else {
        panic!("not a tensor type");
    };
    assert_eq!(t.elem_type, Some(DataType::Float as i32));
    t.shape
        .as_ref()
        .unwrap()
        .dim
        .iter()
        .map(|d| match d.value.as_ref().unwrap() {
            Dim::DimValue(n) => n.to_string(),
            Dim::DimParam(s) => s.clone(),
        })
        .collect()
}

fn ints(n: &NodeProto, name: &str) -> Vec<i64> {
    let a = n.attribute.iter().find(|a| a.name.as_deref() == Some(name));
    let a = a.unwrap_or_else(|| panic!("{:?} has no attribute {name}", n.op_type));
    match a.r#type {
        Some(t) if t == AttributeType::Ints as i32 => a.ints.clone(),
        Some(t) if t == AttributeType::Int as i32 => vec![a.i.unwrap()],
        t => panic!("attribute {name} has type {t:?}"),
    }
}

#[test]
fn an_mlp_file_decodes_into_its_graph_and_weights() -> Result<()> {
    let dir = Scratch::new("onnx", "mlp");
    let mlp = Mlp::<f32>::new(
        &[784, 128, 64, 10],
        Activation::Relu,
        Activation::Identity,
        &mut rng(1),
    )?;
    let path = dir.join("mlp.onnx");
    save_onnx(&mlp, &[784], &path)?;
    assert_entries(&dir, &["mlp.onnx"]);
    let m = decode(&path);
    assert_eq!(m.ir_version, Some(8));
    assert_eq!(m.opset_import.len(), 1);
    assert_eq!(m.opset_import[0].domain.as_deref(), Some(""));
    assert_eq!(m.opset_import[0].version, Some(17));
    assert_eq!(OPSET, 17);
    assert_eq!(m.producer_name.as_deref(), Some("tapegrad"));
    assert_eq!(ops(&m), ["Gemm", "Relu", "Gemm", "Relu", "Gemm"]);
    let g = m.graph.as_ref().unwrap();
    assert_eq!(g.doc_string.as_deref(), Some(mlp.describe().as_str()));
    // the inputs: the value, the weight [in, out], the bias; no transposition
    assert_eq!(g.node[0].input, ["input", "0.weight", "0.bias"]);
    assert!(g.node[0].attribute.is_empty());
    assert_eq!(g.node.last().unwrap().output, ["output"]);
    // each node reads the one before it
    for w in g.node.windows(2) {
        assert_eq!(w[1].input[0], w[0].output[0]);
    }
    assert_eq!(
        initializers(&m),
        [
            ("0.weight".to_string(), vec![784, 128]),
            ("0.bias".to_string(), vec![128]),
            ("2.weight".to_string(), vec![128, 64]),
            ("2.bias".to_string(), vec![64]),
            ("4.weight".to_string(), vec![64, 10]),
            ("4.bias".to_string(), vec![10]),
        ]
    );
    // the values, bit for bit, as little-endian f32 raw data
    for (t, (name, p)) in g.initializer.iter().zip(mlp.named_params()) {
        assert_eq!(t.name.as_deref(), Some(name.as_str()));
        assert_eq!(t.data_type, Some(DataType::Float as i32));
        let want: Vec<u8> = p
            .value()
            .data()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(t.raw_data.as_deref(), Some(want.as_slice()), "{name}");
    }
    // the batch axis is symbolic in the input and the output
    assert_eq!(g.input.len(), 1);
    assert_eq!(g.input[0].name.as_deref(), Some("input"));
    assert_eq!(dims(&g.input[0]), ["batch", "784"]);
    assert_eq!(g.output[0].name.as_deref(), Some("output"));
    assert_eq!(dims(&g.output[0]), ["batch", "10"]);
    // the same bytes as to_bytes: the export is deterministic
    assert_eq!(std::fs::read(&path).unwrap(), onnx::to_bytes(&mlp, &[784])?);
    Ok(())
}

#[test]
fn the_autoencoder_is_encoder_then_decoder() -> Result<()> {
    let ae = Autoencoder::<f32>::new(
        784,
        &[256, 64],
        4,
        Activation::Relu,
        Activation::Sigmoid,
        &mut rng(2),
    )?;
    let m = onnx::to_model(&ae, &[784])?;
    assert_eq!(
        ops(&m),
        [
            "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Gemm", "Relu", "Gemm", "Relu", "Gemm",
            "Sigmoid"
        ]
    );
    let names: Vec<String> = initializers(&m).into_iter().map(|(n, _)| n).collect();
    let params: Vec<String> = ae.named_params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, params);
    assert_eq!(names[0], "encoder.0.weight");
    assert_eq!(names[11], "decoder.4.bias");
    let g = m.graph.unwrap();
    assert_eq!(dims(&g.output[0]), ["batch", "784"]);
    Ok(())
}

#[test]
fn lenet_has_its_convolutions_pools_and_shapes() -> Result<()> {
    let mut r = rng(3);
    let o = Conv2dOptions::default();
    let net = Sequential::<f32>::new()
        .with(Conv2d::new(1, 6, (5, 5), o.padding(2), true, &mut r)?)
        .with(Activation::Relu)
        .with(MaxPool2d::new(2))
        .with(Conv2d::new(6, 16, (5, 5), o, true, &mut r)?)
        .with(Activation::Relu)
        .with(MaxPool2d::new(2))
        .with(Flatten)
        .with(Dense::new(400, 120, Init::HeNormal, &mut r))
        .with(Activation::Relu)
        .with(Dense::new(120, 84, Init::HeNormal, &mut r))
        .with(Activation::Relu)
        .with(Dense::new(84, 10, Init::XavierUniform, &mut r));
    let m = onnx::to_model(&net, &[1, 28, 28])?;
    assert_eq!(
        ops(&m),
        [
            "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu",
            "Gemm", "Relu", "Gemm"
        ]
    );
    let g = m.graph.as_ref().unwrap();
    let conv = &g.node[0];
    assert_eq!(conv.input, ["input", "0.weight", "0.bias"]);
    assert_eq!(ints(conv, "kernel_shape"), [5, 5]);
    assert_eq!(ints(conv, "pads"), [2, 2, 2, 2]);
    assert_eq!(ints(conv, "strides"), [1, 1]);
    assert_eq!(ints(conv, "dilations"), [1, 1]);
    assert_eq!(ints(conv, "group"), [1]);
    let pool = &g.node[2];
    assert_eq!(ints(pool, "kernel_shape"), [2, 2]);
    assert_eq!(ints(pool, "strides"), [2, 2]);
    assert_eq!(ints(&g.node[6], "axis"), [1]);
    assert_eq!(
        initializers(&m)[0],
        ("0.weight".to_string(), vec![6, 1, 5, 5])
    );
    assert_eq!(
        initializers(&m)[4],
        ("7.weight".to_string(), vec![400, 120])
    );
    assert_eq!(dims(&g.input[0]), ["batch", "1", "28", "28"]);
    assert_eq!(dims(&g.output[0]), ["batch", "10"]);
    Ok(())
}

#[test]
fn normalization_embedding_and_dropout_layers() -> Result<()> {
    // batch normalization exports its running statistics, in training mode too
    let bn = Sequential::<f32>::new()
        .with(BatchNorm2d::new(3))
        .with(Dropout::new(0.5, 1)?)
        .with(Flatten)
        .with(LayerNorm::new(&[48]));
    let m = onnx::to_model(&bn, &[3, 4, 4])?;
    assert_eq!(
        ops(&m),
        ["BatchNormalization", "Flatten", "LayerNormalization"]
    );
    let g = m.graph.as_ref().unwrap();
    assert_eq!(
        g.node[0].input,
        [
            "input",
            "0.weight",
            "0.bias",
            "0.running_mean",
            "0.running_var"
        ]
    );
    assert_eq!(ints(&g.node[2], "axis"), [-1]);
    // without running statistics: the batch's, composed
    let batch = BatchNorm2d::<f32>::new(3).track_running_stats(false);
    let m = onnx::to_model(&batch, &[3, 4, 4])?;
    assert_eq!(
        ops(&m),
        [
            "ReduceMean",
            "Sub",
            "Mul",
            "ReduceMean",
            "Add",
            "Sqrt",
            "Div",
            "Mul",
            "Add"
        ]
    );
    assert_eq!(ints(&m.graph.as_ref().unwrap().node[0], "axes"), [0, 2, 3]);
    assert!(initializers(&m).contains(&("weight".to_string(), vec![3, 1, 1])));
    // an embedding: the indices cast to int64, then the rows gathered
    let emb = Embedding::<f32>::new(10, 6, &mut rng(4));
    let m = onnx::to_model(&emb, &[3])?;
    assert_eq!(ops(&m), ["Cast", "Gather"]);
    assert_eq!(
        ints(&m.graph.as_ref().unwrap().node[0], "to"),
        [DataType::Int64 as i64]
    );
    assert_eq!(
        dims(&m.graph.as_ref().unwrap().output[0]),
        ["batch", "3", "6"]
    );
    // a model that computes nothing: the output is the input through Identity
    let m = onnx::to_model::<f32>(&Dropout::new(0.1, 2)?, &[5])?;
    assert_eq!(ops(&m), ["Identity"]);
    assert_eq!(m.graph.unwrap().node[0].input, ["input"]);
    Ok(())
}

#[test]
fn f64_models_are_written_as_f32() -> Result<()> {
    let w = Array::from_vec(vec![0.1f64, 1.0 / 3.0, -2.5, 1e-9], [2, 2])?;
    let d = Dense::from_arrays(w, None)?;
    let m = onnx::to_model(&d, &[2])?;
    let t = &m.graph.unwrap().initializer[0];
    assert_eq!(t.data_type, Some(DataType::Float as i32));
    let want: Vec<u8> = [0.1f32, 1.0 / 3.0, -2.5, 1e-9]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(t.raw_data.as_deref(), Some(want.as_slice()));
    Ok(())
}

one_param_module!(
    /// A module without an ONNX form.
    Scale,
    |x, w| x.mul(w)
);

#[test]
fn unsupported_modules_and_shapes_are_errors_naming_the_module() -> Result<()> {
    let dir = Scratch::new("onnx", "unsupported");
    let path = dir.join("model.onnx");
    let net = Sequential::<f64>::new()
        .with(Dense::new(3, 3, Init::HeNormal, &mut rng(0)))
        .with(Scale {
            w: Param::new(Array::ones([3])),
        });
    let err = save_onnx(&net, &[3], &path).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{text}");
    assert!(
        text.starts_with("onnx export: Scale has no ONNX form"),
        "{text}"
    );
    assert!(text.contains("(in module `1`: Scale)"), "{text}");
    assert!(
        text.contains("tests/onnx_export.rs"),
        "names the caller's line: {text}"
    );
    assert_entries(&dir, &[]);

    // a failed export leaves the file that was there as it was
    let mlp = Mlp::<f32>::new(&[4, 3], Activation::Relu, Activation::Identity, &mut rng(0))?;
    save_onnx(&mlp, &[4], &path)?;
    let before = std::fs::read(&path).unwrap();
    assert!(save_onnx(&net, &[3], &path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_entries(&dir, &["model.onnx"]);

    // shapes a layer cannot take, named with the layer and its place
    let err = onnx::to_model(&mlp, &[5]).unwrap_err().to_string();
    assert!(
        err.contains("Dense(in=4, out=3, bias) cannot take an input of shape [batch, 5]")
            && err.contains("in=4")
            && err.contains("(in module `0`"),
        "{err}"
    );
    let conv = Sequential::<f32>::new().with(Conv2d::new(
        3,
        4,
        (3, 3),
        Conv2dOptions::default(),
        true,
        &mut rng(0),
    )?);
    let err = onnx::to_model(&conv, &[1, 8, 8]).unwrap_err().to_string();
    assert!(err.contains("expects an input [N, 3, H, W]"), "{err}");
    let err = onnx::to_model(&conv, &[3, 2, 2]).unwrap_err().to_string();
    assert!(err.contains("larger than the padded input"), "{err}");
    let err = onnx::to_model::<f32>(&Activation::Softmax(2), &[4])
        .unwrap_err()
        .to_string();
    assert!(err.contains("axis 2 is out of range for rank 2"), "{err}");
    let err = onnx::to_model(&mlp, &[0]).unwrap_err().to_string();
    assert!(err.contains("dims must be positive"), "{err}");
    Ok(())
}

#[test]
fn a_missing_folder_or_a_folder_path_is_an_error_and_leaves_no_file() -> Result<()> {
    let dir = Scratch::new("onnx", "paths");
    let mlp = Mlp::<f32>::new(&[4, 3], Activation::Relu, Activation::Identity, &mut rng(0))?;
    let missing = dir.join("no-such-folder").join("mlp.onnx");
    let err = save_onnx(&mlp, &[4], &missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("no-such-folder"), "{err}");
    assert!(!missing.exists());

    let folder = dir.join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    let err = save_onnx(&mlp, &[4], &folder).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("a-folder"), "{err}");
    assert!(folder.is_dir());
    assert_entries(&folder, &[]);
    // no temporary file beside it either
    assert_entries(&dir, &["a-folder"]);
    Ok(())
}

#[test]
fn a_truncated_file_reads_back_as_an_error_naming_it() -> Result<()> {
    let dir = Scratch::new("onnx", "truncated");
    let path = dir.join("mlp.onnx");
    let mlp = Mlp::<f32>::new(
        &[6, 4, 2],
        Activation::Tanh,
        Activation::Identity,
        &mut rng(0),
    )?;
    save_onnx(&mlp, &[6], &path)?;
    assert_eq!(onnx::load_model(&path)?, onnx::to_model(&mlp, &[6])?);
    let bytes = std::fs::read(&path).unwrap();
    for keep in [1, bytes.len() / 3, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..keep]).unwrap();
        match onnx::load_model(&path) {
            Err(Error::Format {
                path: p, message, ..
            }) => {
                assert_eq!(p, path);
                assert!(message.contains("not a valid ONNX model"), "{message}");
            }
            other => panic!("truncated to {keep} bytes: expected a Format error, got {other:?}"),
        }
    }
    let err = onnx::load_model(dir.join("absent.onnx")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("absent.onnx"));
    Ok(())
}
