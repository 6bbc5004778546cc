namespace ActorCkpt.Io.Tests;

/// <summary>The statfs figures a replica store's usage and budget come from.</summary>
public class MountedFileSystemSpec
{
    [Fact]
    public void Size_should_be_what_the_runtime_reports_and_a_file_written_should_count_as_used()
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/dev/shm")) return;
        using var shm = new ShmDirectory();
        File.WriteAllBytes(Path.Combine(shm.Path, "held"), new byte[1 << 20]);

        var fs = MountedFileSystem.Of(shm.Path);

        Assert.Equal("tmpfs", fs.Type);
        Assert.True(fs.IsMemory);
        Assert.Equal(new DriveInfo("/dev/shm").TotalSize, fs.SizeBytes);
        Assert.InRange(fs.UsedBytes, 1 << 20, fs.SizeBytes);
        Assert.InRange(fs.FreeBytes, 0, fs.SizeBytes - fs.UsedBytes);
    }
}
