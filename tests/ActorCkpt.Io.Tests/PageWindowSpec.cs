namespace ActorCkpt.Io.Tests;

/// <summary>The stretch of a metadata file a whole read takes at once, and the pages sliced from it.</summary>
public class PageWindowSpec
{
    private static readonly byte[] File = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

    private static MetadataIndex.Region At(long offset, long length) => new(offset, length, 0);

    [Fact]
    public void Pages_lying_one_after_another_should_be_read_once_and_sliced_from_it()
    {
        var reader = new ByteReader(File);

        using var window = PageWindow.Read(reader, [At(40, 10), At(50, 30), At(80, 20)]);

        Assert.NotNull(window);
        Assert.Equal(1, reader.Reads);
        Assert.Equal(File[50..80], window.Slice(At(50, 30))!.Value.ToArray());
        Assert.Equal(File[40..100], window.Slice(At(40, 60))!.Value.ToArray());
    }

    [Fact]
    public void A_region_outside_the_stretch_should_not_be_sliced_from_it()
    {
        using var window = PageWindow.Read(new ByteReader(File), [At(40, 10), At(50, 30)])!;

        Assert.Null(window.Slice(At(39, 5)));
        Assert.Null(window.Slice(At(75, 6)));
        Assert.Null(window.Slice(At(200, 1)));
    }

    [Fact]
    public void Regions_scattered_through_the_file_or_none_should_be_read_alone()
    {
        var reader = new ByteReader(File);

        // 20 bytes of pages over a stretch of 200: reading the stretch would read ten times as much.
        Assert.Null(PageWindow.Read(reader, [At(0, 10), At(190, 10)]));
        Assert.Null(PageWindow.Read(reader, []));
        Assert.Equal(0, reader.Reads);
    }

    [Fact]
    public void A_window_disposed_should_refuse_to_slice()
    {
        var window = PageWindow.Read(new ByteReader(File), [At(0, 16)])!;

        window.Dispose();
        window.Dispose();

        Assert.Throws<ObjectDisposedException>(() => window.Slice(At(0, 4)));
    }
}
