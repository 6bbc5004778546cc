namespace ActorCkpt.Io.Tests;

/// <summary>The statfs figures a replica store's usage and budget come from.</summary>
public class MountedFileSystemSpec
{
    [Fact]
    public void Size_should_be_what_the_runtime_reports_and_use_and_free_space_should_fit_in_it()
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/dev/shm")) return;
        var fs = MountedFileSystem.Of("/dev/shm");

        Assert.Equal("tmpfs", fs.Type);
        Assert.True(fs.IsMemory);
        Assert.Equal(new DriveInfo("/dev/shm").TotalSize, fs.SizeBytes);
        Assert.InRange(fs.UsedBytes, 0, fs.SizeBytes);
        Assert.InRange(fs.FreeBytes, 0, fs.SizeBytes - fs.UsedBytes);
    }
}
