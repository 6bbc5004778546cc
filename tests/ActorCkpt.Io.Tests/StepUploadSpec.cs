namespace ActorCkpt.Io.Tests;

/// <summary>
/// Copying a committed step to another root (the object tier's upload): bit-exact, metadata last and
/// create-only; the same copy again is a no-op, another checkpoint of the step is refused; a copy that
/// fails or is cancelled leaves nothing committed at the target.
/// </summary>
public sealed class StepUploadSpec : IDisposable
{
    private readonly TempDirectory _from = new(), _to = new();
    private readonly CheckpointStore _source, _target;

    public StepUploadSpec()
    {
        Directory.CreateDirectory(_from.Path);
        Directory.CreateDirectory(_to.Path);
        (_source, _target) = (new CheckpointStore(new LocalBlobStore(_from.Path)), new CheckpointStore(new LocalBlobStore(_to.Path)));
    }

    public void Dispose()
    {
        _from.Dispose();
        _to.Dispose();
    }

    private string[] Files(string root, long step) =>
        Directory.GetFiles(Path.Combine(root, CheckpointLayout.StepDirectory(step))).Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public void A_committed_step_should_be_copied_bit_exact_and_be_committed_at_the_target()
    {
        SavedCheckpoint.Save(_source, 3, world: 2, rows: 64, cols: 32);
        var (metadata, checksum) = _source.ReadMetadataWithChecksum(3);

        var result = StepUpload.Run(_source, _target, 3, checksum, parallelism: 2, CancellationToken.None);

        Assert.Equal(new StepUploadResult(checksum, metadata.Files.Count, metadata.Files.Sum(f => f.Length), AlreadyThere: false), result);
        Assert.True(_target.IsCommitted(3));
        Assert.Equal(Files(_from.Path, 3), Files(_to.Path, 3));
        foreach (var file in Files(_from.Path, 3))
            Assert.Equal(File.ReadAllBytes(Path.Combine(_from.Path, CheckpointLayout.InStep(3, file))), File.ReadAllBytes(Path.Combine(_to.Path, CheckpointLayout.InStep(3, file))));
        Assert.Equal(3, _target.ReadTracker());
        _target.ForgetParsedMetadata();
        Assert.Equal(checksum, _target.ReadMetadataWithChecksum(3).Checksum);
    }

    [Fact]
    public void The_same_step_again_should_copy_nothing_and_another_checkpoint_of_it_should_be_refused()
    {
        SavedCheckpoint.Save(_source, 3, world: 2);
        var checksum = _source.ReadMetadataWithChecksum(3).Checksum;
        StepUpload.Run(_source, _target, 3, checksum, 1, CancellationToken.None);
        var written = File.GetLastWriteTimeUtc(Path.Combine(_to.Path, CheckpointLayout.InStep(3, CheckpointLayout.MetadataFile)));

        Assert.True(StepUpload.Run(_source, _target, 3, checksum, 1, CancellationToken.None).AlreadyThere);
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(_to.Path, CheckpointLayout.InStep(3, CheckpointLayout.MetadataFile))));

        using var other = new TempDirectory();
        Directory.CreateDirectory(other.Path);
        var another = new CheckpointStore(new LocalBlobStore(other.Path));
        SavedCheckpoint.Save(another, 3, world: 3, rows: 12);
        var e = Assert.Throws<ActorCkptException>(() => StepUpload.Run(another, _target, 3, "", 1, CancellationToken.None));
        Assert.Contains($"step 3 is committed in '{_to.Path}' already as another checkpoint", e.Message);
        Assert.Equal(checksum, new CheckpointStore(new LocalBlobStore(_to.Path)).ReadMetadataWithChecksum(3).Checksum);
    }

    [Fact]
    public void Metadata_that_is_not_what_the_catalog_recorded_should_be_refused_before_anything_is_copied()
    {
        SavedCheckpoint.Save(_source, 3, world: 2);

        Assert.Throws<CheckpointFormatException>(() => StepUpload.Run(_source, _target, 3, "0123456789abcdef", 1, CancellationToken.None));
        Assert.False(Directory.Exists(Path.Combine(_to.Path, CheckpointLayout.StepDirectory(3))));
    }

    [Fact]
    public void A_data_file_cut_short_or_a_cancelled_copy_should_leave_nothing_committed_at_the_target()
    {
        SavedCheckpoint.Save(_source, 3, world: 2);
        var checksum = _source.ReadMetadataWithChecksum(3).Checksum;
        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => StepUpload.Run(_source, _target, 3, checksum, 2, cancelled.Token));
        }
        Assert.False(_target.IsCommitted(3));

        var data = Files(_from.Path, 3).First(f => f != CheckpointLayout.MetadataFile);
        var path = Path.Combine(_from.Path, CheckpointLayout.InStep(3, data));
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^1]);
        var e = Assert.Throws<CheckpointFormatException>(() => StepUpload.Run(_source, _target, 3, checksum, 2, CancellationToken.None));
        Assert.Contains(data, e.Message);
        Assert.False(_target.IsCommitted(3));
    }
}
