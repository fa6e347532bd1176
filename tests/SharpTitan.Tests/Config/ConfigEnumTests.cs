using SharpTitan.Config;
using SharpTitan.Tests.Support;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Config;

/// <summary>Keys whose values are a fixed set of strings are enums, written as torchtitan writes them.</summary>
public class ConfigEnumTests
{
    private static string WriteToml(string text)
    {
        var path = Path.Combine(TestSetup.TempDir("config-enum"), "job.toml");
        File.WriteAllText(path, text);
        return path;
    }

    private static IEnumerable<ConfigSchema.Key> EnumKeys =>
        ConfigSchema.Sections.SelectMany(s => s.Keys).Where(k => k.EnumType != null);

    public static TheoryData<string, string, object> ConfigStrings => new()
    {
        { "model.name", "llama3", ModelName.Llama3 },
        { "optimizer.name", "AdamW", OptimizerName.AdamW },
        { "optimizer.name", "Adam", OptimizerName.Adam },
        { "optimizer.implementation", "for-loop", OptimizerImplementation.ForLoop },
        { "optimizer.implementation", "fused", OptimizerImplementation.Fused },
        { "lr_scheduler.decay_type", "cosine", LrDecayType.Cosine },
        { "training.dataset_txt_split", "blank_lines", TxtDocumentSplit.BlankLines },
        { "training.dtype", "bfloat16", Dtype.BFloat16 },
        { "training.mixed_precision_param", "float32", Dtype.Float32 },
        { "training.mixed_precision_impl", "master_copy", MixedPrecisionImplementation.MasterCopy },
        { "training.mixed_precision_impl", "autocast", MixedPrecisionImplementation.Autocast },
        { "parallelism.fsdp_reshard_after_forward", "never", ReshardPolicy.Never },
        { "checkpoint.export_dtype", "float16", Dtype.Float16 },
        { "checkpoint.async_mode", "async", CheckpointAsyncMode.Async },
        { "activation_checkpoint.mode", "full", ActivationCheckpointMode.Full },
        { "float8.recipe_name", "rowwise_with_gw_hp", Float8RecipeName.RowwiseWithGwHp },
    };

    [Theory]
    [MemberData(nameof(ConfigStrings))]
    public void EnumKeysParseFromTorchtitansStringsInTomlAndOnTheCommandLine(string fullName, string text, object expected)
    {
        int dot = fullName.IndexOf('.');
        var key = ConfigSchema.FindKey(fullName[..dot], fullName[(dot + 1)..], "");
        var fromToml = ConfigLoader.Load(WriteToml($"[{key.Section}]\n{key.Name} = \"{text}\"\n"));
        var fromCommandLine = ConfigLoader.Load(null, [$"--{fullName}", text]);
        Assert.Equal(expected, ConfigSchema.Get(fromToml, key));
        Assert.Equal(expected, ConfigSchema.Get(fromCommandLine, key));
        Assert.Contains($"\n{key.Name} = \"{text}\"\n", ConfigPrinter.ToToml(fromToml));
    }

    [Fact]
    public void ListsOfEnumsParseFromTomlArraysAndCommaSeparatedOverrides()
    {
        var c = ConfigLoader.Load(WriteToml("[model]\nconverters = [\"float8\"]\n[compile]\ncomponents = [\"loss\"]\n"));
        Assert.Equal([ModelConverter.Float8], c.Model.Converters);
        Assert.Equal([CompileComponent.Loss], c.Compile.Components);
        c = ConfigLoader.Load(null, ["--compile.components", "loss,model", "--model.converters="]);
        Assert.Equal([CompileComponent.Loss, CompileComponent.Model], c.Compile.Components);
        Assert.Empty(c.Model.Converters);
        Assert.Contains("components = [\"loss\", \"model\"]", ConfigPrinter.ToToml(c));
    }

    [Fact]
    public void EveryAllowedStringOfEveryEnumKeyParsesAndPrintsBackUnchanged()
    {
        foreach (var key in EnumKeys)
        foreach (var text in key.AllowedValues!)
        {
            var c = new JobConfig();
            ConfigSchema.Set(c, key, key.ValueType.IsArray ? new List<object> { text } : text, "");
            string shown = key.ValueType.IsArray ? $"[\"{text}\"]" : $"\"{text}\"";
            Assert.Equal(shown, ConfigSchema.Show(ConfigSchema.Get(c, key)));
        }
    }

    [Theory]
    [InlineData("[optimizer]\nname = \"adamw\"\n", "'optimizer.name' = \"adamw\": expected one of \"AdamW\", \"Adam\" (did you mean 'AdamW'?)")]
    [InlineData("[optimizer]\nimplementation = \"forloop\"\n", "'optimizer.implementation' = \"forloop\": expected one of \"fused\", \"foreach\", \"for-loop\" (did you mean 'for-loop'?)")]
    [InlineData("[lr_scheduler]\ndecay_type = \"exp\"\n", "'lr_scheduler.decay_type' = \"exp\": expected one of \"linear\", \"sqrt\", \"cosine\"")]
    [InlineData("[training]\ndtype = \"float16\"\n", "'training.dtype' = \"float16\": expected one of \"float32\", \"bfloat16\" (did you mean 'bfloat16'?)")]
    [InlineData("[training]\nmixed_precision_reduce = \"bfloat16\"\n", "'training.mixed_precision_reduce' = \"bfloat16\": expected one of \"float32\" (did you mean 'float32'?)")]
    [InlineData("[training]\nmixed_precision_impl = \"amp\"\n", "'training.mixed_precision_impl' = \"amp\": expected one of \"master_copy\", \"autocast\"")]
    [InlineData("[checkpoint]\nexport_dtype = \"int64\"\n", "'checkpoint.export_dtype' = \"int64\": expected one of \"float32\", \"bfloat16\", \"float16\"")]
    [InlineData("[checkpoint]\nasync_mode = \"async_with_pinned_mem\"\n", "'checkpoint.async_mode' = \"async_with_pinned_mem\": expected one of \"disabled\", \"async\"")]
    [InlineData("[activation_checkpoint]\nmode = \"Full\"\n", "'activation_checkpoint.mode' = \"Full\": expected one of \"none\", \"full\", \"selective\" (did you mean 'full'?)")]
    [InlineData("[float8]\nrecipe_name = \"rowwise_gw_hp\"\n", "'float8.recipe_name' = \"rowwise_gw_hp\": expected one of \"tensorwise\", \"rowwise\", \"rowwise_with_gw_hp\" (did you mean 'rowwise_with_gw_hp'?)")]
    [InlineData("[model]\nconverters = [\"float4\"]\n", "'model.converters' = \"float4\": expected one of \"float8\" (did you mean 'float8'?)")]
    [InlineData("[model]\nname = \"llama4\"\n", "'model.name' = \"llama4\": expected one of \"llama3\" (did you mean 'llama3'?)")]
    public void BadEnumValuesKeepTheirOneLineMessage(string toml, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(WriteToml(toml)));
        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void BadEnumValueOnTheCommandLineGivesTheSameMessage()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, ["--parallelism.fsdp_reshard_after_forward=sometimes"]));
        Assert.Equal("'parallelism.fsdp_reshard_after_forward' = \"sometimes\": expected one of \"default\", \"always\", \"never\"", e.Message);
    }

    [Fact]
    public void NonStringValueForAnEnumKeyAsksForAString()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(WriteToml("[optimizer]\nname = 3\n")));
        Assert.EndsWith("'optimizer.name' = 3: expected a string", e.Message);
    }

    [Fact]
    public void ValueSetInCodeOutsideTheKeysSubsetIsRefusedByTheValidator()
    {
        var c = new JobConfig();
        c.Training.Dtype = Dtype.Float16;
        var e = Assert.Throws<ConfigException>(() => ConfigValidator.Validate(c));
        Assert.Equal("'training.dtype' = \"float16\": expected one of \"float32\", \"bfloat16\" (did you mean 'bfloat16'?)", e.Message);
    }

    [Fact]
    public void ConfigNamesFollowSnakeCaseOrTheMembersAttribute()
    {
        Assert.Equal("AdamW", OptimizerName.AdamW.ToConfigString());
        Assert.Equal("for-loop", OptimizerImplementation.ForLoop.ToConfigString());
        Assert.Equal("bfloat16", Dtype.BFloat16.ToConfigString());
        Assert.Equal("uint8", Dtype.Uint8.ToConfigString());
        Assert.Equal("blank_lines", TxtDocumentSplit.BlankLines.ToConfigString());
        Assert.Equal("rowwise_with_gw_hp", Float8RecipeName.RowwiseWithGwHp.ToConfigString());
        Assert.Equal(ReshardPolicy.Always, ConfigEnum.Parse<ReshardPolicy>("always"));
        Assert.Throws<ConfigException>(() => ConfigEnum.Parse<ReshardPolicy>("Always"));
    }

    [Fact]
    public void EveryEnumValuePrintedLoadsBackToTheSameConfig()
    {
        // Each enum key set to its last allowed value (mostly not the default), printed, loaded again.
        var overrides = EnumKeys.SelectMany(k => new[] { $"--{k.FullName}", k.AllowedValues![^1] }).ToList();
        overrides.AddRange(["--compile.components", "loss,model"]);
        var c = ConfigLoader.Load(null, overrides);
        var path = WriteToml(ConfigPrinter.ToToml(c));
        var again = ConfigLoader.Load(path);
        Assert.Equal(ConfigPrinter.ToToml(c), ConfigPrinter.ToToml(again));
        foreach (var key in EnumKeys)
            Assert.Equal(ConfigSchema.Show(ConfigSchema.Get(c, key)), ConfigSchema.Show(ConfigSchema.Get(again, key)));
        Assert.Equal(OptimizerName.Adam, again.Optimizer.Name);
        Assert.Equal(ActivationCheckpointMode.Selective, again.ActivationCheckpoint.Mode);
    }

    [Fact]
    public void OneDtypeMapServesConfigsCheckpointsAndTheTrainer()
    {
        foreach (var d in Enum.GetValues<Dtype>())
        {
            Assert.Equal(d, d.ToScalarType().ToDtype());
            Assert.Equal(d.ToScalarType(), SharpTitan.Checkpoint.Dtypes.Parse(d.ToConfigString(), "test"));
            Assert.Equal(d.ToConfigString(), SharpTitan.Checkpoint.Dtypes.Name(d.ToScalarType()));
            using var t = empty(1, dtype: d.ToScalarType());
            Assert.Equal(t.ElementSize, (long)d.Size());
        }
        Assert.Equal(ScalarType.BFloat16, SharpTitan.Training.Trainer.ParseDtype("bfloat16"));
        var e = Assert.Throws<ConfigException>(() => SharpTitan.Training.Trainer.ParseDtype("float16"));
        Assert.Equal("unknown dtype \"float16\": expected float32 or bfloat16", e.Message);
        var bad = Assert.Throws<InvalidDataException>(() => SharpTitan.Checkpoint.Dtypes.Parse("float8", "x"));
        Assert.Equal("x: unknown dtype \"float8\"", bad.Message);
    }
}
