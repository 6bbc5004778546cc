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

    [Fact]
    public void A_directory_reached_through_a_link_should_be_named_by_the_mount_it_is_on_not_the_link_s()
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/dev/shm")) return;
        using var shm = new ShmDirectory();
        using var temp = new TempDirectory();
        var link = Path.Combine(temp.Path, "to-shm");
        Directory.CreateSymbolicLink(link, shm.Path);

        var fs = MountedFileSystem.Of(link);

        // Before: statfs said tmpfs, the mount table (looked up by the link's own path) the temporary folder's device.
        Assert.Equal(("tmpfs", MountedFileSystem.Of(shm.Path).Device), (fs.Type, fs.Device));
    }
}
