using TorchSharp;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// A committed step whose data file is gone or cut short fails a load with <see cref="CheckpointFormatException"/>
/// naming the file, as the load's contract says, not a bare I/O exception a resuming host does not expect.
/// </summary>
public sealed class DamagedDataLoadSpec : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(true, "is missing: the step's metadata records it, but it was deleted or lost")]
    [InlineData(false, "is truncated: it ends before a range its metadata records")]
    public async Task A_data_file_missing_or_cut_short_should_fail_the_load_naming_it(bool delete, string problem)
    {
        var file = await SaveOneTensorAndDamageItsFileAsync(delete);

        await using var again = Checkpointer.Start(_temp.Path);
        using var target = torch.zeros(100_000);
        // Before: FileNotFoundException, or EndOfStreamException.
        var e = await Assert.ThrowsAsync<CheckpointFormatException>(() => again.LoadAsync(new RankState(0, 1).AddReplicated("w", target), 1).WaitAsync(Patience));
        Assert.Equal((file, problem), (e.File, e.Problem));
    }

    [Theory]
    [InlineData(true, "is missing: the step's metadata records it, but it was deleted or lost")]
    [InlineData(false, "is truncated: it ends before a range its metadata records")]
    public async Task A_reader_s_load_keys_should_fail_naming_a_data_file_missing_or_cut_short(bool delete, string problem)
    {
        var file = await SaveOneTensorAndDamageItsFileAsync(delete);

        // Before: FileNotFoundException, or EndOfStreamException, where the reader's loads say CheckpointFormatException.
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(_temp.Path).LoadKeys(["w"], 1));
        Assert.Equal((file, problem), (e.File, e.Problem));
    }

    /// <summary>Saves step 1, one tensor in one data file, then deletes that file or cuts 100 bytes off it; returns its path in the root.</summary>
    private async Task<string> SaveOneTensorAndDamageItsFileAsync(bool delete)
    {
        using var w = torch.arange(100_000, dtype: torch.float32);
        await using (var ckpt = Checkpointer.Start(_temp.Path))
            await ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w)).WaitAsync(Patience);
        var file = Directory.GetFiles(Path.Combine(_temp.Path, CheckpointLayout.StepDirectory(1)), "*.safetensors").Single();
        if (delete) File.Delete(file);
        else
            using (var stream = new FileStream(file, FileMode.Open)) stream.SetLength(stream.Length - 100);
        return $"{CheckpointLayout.StepDirectory(1)}/{Path.GetFileName(file)}";
    }

    [Fact]
    public async Task A_step_the_catalog_lost_whose_metadata_cannot_be_read_should_be_named_when_asked_for()
    {
        using var w = torch.ones(1000);
        await using (var ckpt = Checkpointer.Start(_temp.Path))
            for (var step = 1; step <= 2; step++) await ckpt.SaveAsync(step, new RankState(0, 1).AddReplicated("w", w)).WaitAsync(Patience);
        foreach (var file in Directory.GetFiles(_temp.Path, CheckpointLayout.CatalogFile + "*")) File.Delete(file);
        File.WriteAllText(Path.Combine(_temp.Path, CheckpointLayout.StepDirectory(2), CheckpointLayout.MetadataFile), "{ not json");

        await using var again = Checkpointer.Start(_temp.Path);
        using var target = torch.zeros(1000);
        // Before: "step 2 is not a committed checkpoint in '…'", the planner's reason for leaving it alone in its log only.
        var e = await Assert.ThrowsAsync<CheckpointNotFoundException>(() => again.LoadAsync(new RankState(0, 1).AddReplicated("w", target), 2).WaitAsync(Patience));
        Assert.StartsWith($"step 2 is not a committed checkpoint in '{_temp.Path}' (its directory is on disk, but left alone: its metadata cannot be read: " +
                          $"'{CheckpointLayout.StepDirectory(2)}/{CheckpointLayout.MetadataFile}': ", e.Message);
    }

    [Fact]
    public async Task A_resume_through_parts_whose_data_file_is_gone_should_fail_naming_it()
    {
        using (var model = torch.nn.Linear(4, 3))
        await using (var ckpt = Checkpointer.Start(_temp.Path))
            await ckpt.SaveAsync(1, 0, 1, new IStateful[] { new ModuleState(model), new JsonState<int>("iteration", 7, ObjectScope.Global) }).WaitAsync(Patience);
        var files = Directory.GetFiles(Path.Combine(_temp.Path, CheckpointLayout.StepDirectory(1)), "*.safetensors");
        foreach (var file in files) File.Delete(file);

        await using var again = Checkpointer.Start(_temp.Path);
        using var resumed = torch.nn.Linear(4, 3);
        // Before: FileNotFoundException, from the non-tensor entries read first.
        var e = await Assert.ThrowsAsync<CheckpointFormatException>(() =>
            again.LoadAsync(0, 1, new IStateful[] { new ModuleState(resumed), new JsonState<int>("iteration", 0, ObjectScope.Global) }, 1).WaitAsync(Patience));
        Assert.Contains(e.File, files.Select(f => $"{CheckpointLayout.StepDirectory(1)}/{Path.GetFileName(f)}"));
        Assert.Equal("is missing: the step's metadata records it, but it was deleted or lost", e.Problem);
    }
}
