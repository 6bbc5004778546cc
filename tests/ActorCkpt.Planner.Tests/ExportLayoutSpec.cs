
namespace ActorCkpt.Planner.Tests;

public class ExportLayoutSpec
{
    private static ExportTensor T(string key, long elements) => new(key, DType.Float32, new[] { elements });

    [Fact]
    public void By_size_should_fill_files_in_key_order_and_give_an_oversized_tensor_a_file_of_its_own()
    {
        var files = ExportLayout.BySize(new[] { T("c", 10), T("a", 10), T("b", 100), T("d", 5) }, maxShardBytes: 100);

        Assert.Equal(new[] { "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors" }, files.Select(f => f.Name));
        Assert.Equal(new[] { new[] { "a" }, new[] { "b" }, new[] { "c", "d" } }, files.Select(f => f.Tensors.Select(t => t.Key).ToArray()));
        Assert.Equal("model.safetensors", Assert.Single(ExportLayout.BySize(new[] { T("a", 1) }, 100)).Name);
    }

    [Fact]
    public void Like_a_reference_should_keep_file_numbers_and_put_new_keys_last()
    {
        var fileOf = new Dictionary<string, int> { ["a"] = 2, ["b"] = 1 };

        var files = ExportLayout.LikeReference(new[] { T("a", 1), T("b", 1), T("new", 1) }, fileOf, referenceFiles: 3);

        Assert.Equal(new[] { new[] { "b" }, new[] { "a" }, new[] { "new" } }, files.Select(f => f.Tensors.Select(t => t.Key).ToArray()));
        Assert.Equal((2, 3), ExportLayout.ParseFileName("model-00002-of-00003.safetensors"));
        Assert.Throws<ArgumentException>(() => ExportLayout.ParseFileName("pytorch_model.bin"));
    }

    [Fact]
    public void One_file_per_tensor_should_refuse_a_key_too_long_for_a_file_name_before_anything_is_written()
    {
        // The longest name that fits is 251 characters: the file is written as NAME.tmp first, and a component has at most 255.
        var fits = new ExportTensor(new string('k', 239), DType.Float32, [2]);
        Assert.Equal("model/" + fits.Key + ".safetensors", UnshardLayout.Plan([fits], "model", UnshardStrategy.OneFilePerTensor, 0).Single().Name);
        // Before, 240 to 243 characters passed here and failed at the write: "File name too long".
        var overBySuffix = new ExportTensor(new string('k', 240), DType.Float32, [2]);
        Assert.Equal($"key '{new string('k', 60)}…' is too long for a file of its own (252 characters escaped, written as '….tmp' first; file systems allow 255): unshard with --strategy one-file or chunks",
            Assert.Throws<ActorCkptException>(() => UnshardLayout.Plan([overBySuffix], "model", UnshardStrategy.OneFilePerTensor, 0)).Message);

        // Escaped, each '/' takes three characters: 100 of them make a 300-character name.
        var tooLong = new ExportTensor(new string('/', 100), DType.Float32, [2]);
        var e = Assert.Throws<ActorCkptException>(() => UnshardLayout.Plan([fits, tooLong], "model", UnshardStrategy.OneFilePerTensor, 0));
        Assert.Equal($"key '{new string('/', 60)}…' is too long for a file of its own (312 characters escaped, written as '….tmp' first; file systems allow 255): unshard with --strategy one-file or chunks", e.Message);
        Assert.Single(UnshardLayout.Plan([fits, tooLong], "model", UnshardStrategy.OneFile, 0));
    }
}
