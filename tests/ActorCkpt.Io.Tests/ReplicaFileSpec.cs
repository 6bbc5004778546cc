using System.Buffers.Binary;
using System.IO.Hashing;

namespace ActorCkpt.Io.Tests;

/// <summary>The replica header codec: exact lengths up front, a round trip, and every hostile header refused with one line naming the file and the field.</summary>
public class ReplicaFileSpec
{
    private const string Path = "/shm/ns/h0/step-00000007/r00001-000-t.safetensors.replica";
    private static readonly Guid SaveId = Guid.Parse("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9");

    private static FileWriteResult Result(string file = "r00001-000-t.safetensors") => new(file, 9000, new[]
    {
        new WrittenItem("a", new StoredBytes(file, 100, 5000, 4096, new ulong[] { 1, 2 })),
        new WrittenItem("b", new StoredBytes(file, 5100, 3900, 4096, new ulong[] { 3 })),
    }, "00000000000000ff");

    /// <summary>A whole replica file (payload zeros) whose header describes <paramref name="result"/>.</summary>
    private static byte[] File(FileWriteResult result, long step = 7, int rank = 1)
    {
        var header = ReplicaFile.Encode(new ReplicaHeader(step, SaveId, rank, result.FileName, result.Length, ReplicaFile.Page, result));
        var file = new byte[header.Length + result.Length];
        header.CopyTo(file, 0);
        return file;
    }

    /// <summary>Recomputes the header checksum after a field was changed, so the field's own check is what refuses it.</summary>
    private static void Reseal(byte[] file)
    {
        var b = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12));
        if (b > file.Length - 64) return; // a body past the file's end: the length checks refuse it anyway
        var hasher = new XxHash3();
        hasher.Append(file.AsSpan(0, 56));
        hasher.Append(file.AsSpan(64, (int)b));
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(56), hasher.GetCurrentHashAsUInt64());
    }

    private static string Refused(byte[] file, long step = 7, long? length = null, string? dataFile = null) =>
        Assert.Throws<CheckpointFormatException>(() => ReplicaFile.Decode(new ByteReader(file, length), Path, step, dataFile)).Message;

    [Fact]
    public void A_header_should_round_trip_every_field()
    {
        var decoded = ReplicaFile.Decode(new ByteReader(File(Result())), Path, 7, "r00001-000-t.safetensors");

        Assert.Equal((7L, SaveId, 1, "r00001-000-t.safetensors", 9000L, 4096), (decoded.Step, decoded.SaveId, decoded.Rank, decoded.FileName, decoded.PayloadLength, decoded.HeaderLength));
        Assert.Null(ResultDifference.Between(Result(), decoded.Result));
        Assert.Equal("00000000000000ff", decoded.Result.HeaderChecksum);
    }

    [Fact]
    public void The_header_length_should_be_known_from_the_plan_and_grow_by_whole_pages()
    {
        var plan = ReplicaFixtures.Plan("f.safetensors");
        // 2 + 13 + 8, then per item 26 bytes + name + 8 per block: 5 + 1 + 2 blocks of 64 KiB.
        var body = 2 + 13 + 8 + (26 + plan.Items[0].StorageName.Length + 8 * 5) + (26 + plan.Items[1].StorageName.Length + 8) + (26 + plan.Items[2].StorageName.Length + 8 * 2);
        Assert.True(64 + body <= 4096);
        Assert.Equal(4096, ReplicaFile.HeaderLength(plan, ReplicaFixtures.MaxBlock));

        // 1 byte per block: 100,000 blocks of checksums need 196 pages.
        var big = new FileWritePlan("f.safetensors", 0, 0, new[] { WriteItem.ForObject("x", 0, 0, ObjectScope.Rank, 100_000) });
        Assert.Equal((64 + 2 + 13 + 8 + 26 + big.Items[0].StorageName.Length + 8 * 100_000 + 4095) / 4096 * 4096, ReplicaFile.HeaderLength(big, new[] { 1 }));
    }

    [Fact]
    public void A_flipped_header_byte_should_be_refused_by_the_checksum()
    {
        var file = File(Result());
        file[64 + 5] ^= 0x10;

        Assert.Matches($"^'{Path}': replica header: checksum [0-9a-f]{{16}} differs from the [0-9a-f]{{16}} recorded$", Refused(file));
    }

    [Fact]
    public void A_truncated_file_should_be_refused_naming_both_lengths()
    {
        var file = File(Result())[..^1];

        Assert.Equal($"'{Path}': replica header: the file is 13095 bytes, not the header's 4096 plus the payload's 9000", Refused(file));
        Assert.Equal($"'{Path}': replica header: the file is 10 bytes, shorter than the 64-byte fixed header", Refused(file[..10]));
    }

    [Fact]
    public void A_header_over_64_MiB_or_two_to_the_31_items_should_be_refused_before_anything_past_the_fixed_header_is_read()
    {
        var tooLong = File(Result());
        BinaryPrimitives.WriteUInt32LittleEndian(tooLong.AsSpan(8), 128u << 20);
        Reseal(tooLong);
        var reader = new ByteReader(tooLong, (128L << 20) + 9000);
        var e = Assert.Throws<CheckpointFormatException>(() => ReplicaFile.Decode(reader, Path, 7));
        Assert.Equal($"'{Path}': replica header: header length 134217728 is not a multiple of 4096 from 4096 to 67108864 bytes", e.Message);
        Assert.Equal(64, reader.LargestRead);

        var manyItems = File(Result());
        BinaryPrimitives.WriteUInt32LittleEndian(manyItems.AsSpan(52), 1u << 31);
        Reseal(manyItems);
        reader = new ByteReader(manyItems);
        e = Assert.Throws<CheckpointFormatException>(() => ReplicaFile.Decode(reader, Path, 7));
        Assert.Matches($"^'{Path}': replica header: item count 2147483648 does not fit a body of [0-9]+ bytes$", e.Message);
        Assert.Equal(64, reader.LargestRead);
    }

    [Fact]
    public void Bad_magic_and_a_body_longer_than_the_header_should_be_refused()
    {
        var magic = File(Result());
        magic[0] = (byte)'X';
        Assert.Equal($"'{Path}': replica header: magic is 'XCKREPL1', not 'ACKREPL1'", Refused(magic));

        var body = File(Result());
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(12), 4096 - 63);
        Assert.Equal($"'{Path}': replica header: body length 4033 does not fit a 4096-byte header", Refused(body));
    }

    [Fact]
    public void Items_unsorted_overlapping_or_outside_the_payload_should_be_refused_naming_the_item()
    {
        const string f = "r00001-000-t.safetensors";
        FileWriteResult With(long offsetB, long lengthB, int blocks = 1) => Result() with
        {
            Items = new[] { Result().Items[0], new WrittenItem("b", new StoredBytes(f, offsetB, lengthB, 4096, Enumerable.Range(0, blocks).Select(i => (ulong)i).ToArray())) },
        };

        Assert.Equal($"'{Path}': replica header: item 1 'b' at 5099 overlaps or precedes the item before it, which ends at 5100", Refused(File(With(5099, 3900))));
        Assert.Equal($"'{Path}': replica header: item 1 'b' at 5100+3901 is outside the 9000-byte payload", Refused(File(With(5100, 3901))));
        Assert.Equal($"'{Path}': replica header: item 1 'b' has 2 block checksums; 3900 bytes in blocks of 4096 need 1", Refused(File(With(5100, 3900, blocks: 2))));
    }

    [Fact]
    public void A_name_that_is_not_plain_a_twice_listed_item_or_another_step_should_be_refused()
    {
        Assert.Equal($"'{Path}': replica header: data file name '../x' is not a plain file name", Refused(File(Result("../x"))));
        Assert.Equal($"'{Path}': replica header: step 7 is not its directory's step 8", Refused(File(Result()), step: 8));
        Assert.Equal($"'{Path}': replica header: data file name 'r00001-000-t.safetensors' is not the 'other.safetensors' its name says",
            Refused(File(Result()), dataFile: "other.safetensors"));

        var twice = Result() with { Items = new[] { Result().Items[0], Result().Items[1] with { StorageName = "a" } } };
        Assert.Equal($"'{Path}': replica header: item 1 'a' is listed twice", Refused(File(twice)));
    }

    [Fact]
    public void Any_corruption_of_a_replica_should_give_a_format_error_or_a_header_that_checks()
    {
        var good = File(Result());
        var random = new Random(19);
        for (var round = 0; round < 3000; round++)
        {
            var file = (byte[])good.Clone();
            var flips = random.Next(1, 4);
            for (var i = 0; i < flips; i++) file[random.Next(0, 64 + 200)] = (byte)random.Next(256);
            if (round % 3 == 0) Reseal(file); // past the checksum, into the field checks
            var length = round % 7 == 0 ? random.Next(0, file.Length) : file.Length;
            try
            {
                ReplicaFile.Decode(new ByteReader(file[..length]), Path, 7);
            }
            catch (CheckpointFormatException e)
            {
                Assert.StartsWith($"'{Path}': replica header: ", e.Message);
            }
        }
    }
}
