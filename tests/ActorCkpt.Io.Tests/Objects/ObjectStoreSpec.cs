namespace ActorCkpt.Io.Tests;

/// <summary>
/// Object-store roots against real servers: Azurite for Azure Blob, s3rver for S3 (each theory runs
/// on both). The clients' requests and answers (<see cref="IObjectClient"/>), and the store above
/// them (<see cref="ObjectBlobStore"/>): files written in parts and read back bit-exact, nothing
/// visible before the flush, aborted uploads gone, create-only metadata, retries of failed and
/// throttled parts, and one clear line for bad credentials and a missing container.
/// </summary>
[Collection(ObjectEmulatorCollection.Name)]
public class ObjectStoreSpec(ObjectEmulators emulators) : IDisposable
{
    private const int Part = 5 << 20;
    private readonly TempDirectory _state = new();

    public void Dispose() => _state.Dispose();

    private (ObjectBlobStore Store, FaultHandler Http) Open(string service, string? container = null, Action<FaultHandler>? faults = null, int retries = 6,
        AzureBlockChecksum blockChecksum = AzureBlockChecksum.Crc64)
    {
        FaultHandler? handler = null;
        var options = emulators.Options(service) with
        {
            PartSize = Part, Parallelism = 3, Retries = retries, RetryBackoff = TimeSpan.FromMilliseconds(10), CreateMissing = true,
            AzureBlockChecksum = blockChecksum,
            StateDirectory = _state.Path,
            WrapHandler = inner => handler = new FaultHandler(inner),
        };
        var root = $"{service}://{container ?? ObjectEmulators.NewContainer()}/run-1";
        var store = (ObjectBlobStore)BlobStores.Open(root, options);
        faults?.Invoke(handler!);
        return (store, handler!);
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public void A_file_in_parts_should_appear_at_its_flush_and_read_back_bit_exact(string service)
    {
        var (store, http) = Open(service);
        var data = Bytes(2 * Part + 12345, 1);
        using (var writer = store.Create("step-00000001/a.safetensors"))
        {
            // Out of order: the second part first, then the rest.
            writer.Write(data.AsSpan(Part, Part), Part);
            writer.Write(data.AsSpan(0, Part), 0);
            writer.Write(data.AsSpan(2 * Part), 2L * Part);
            Assert.False(store.Exists("step-00000001/a.safetensors"));
            writer.Flush();
        }
        Assert.Equal(3, http.Sent["part"]);
        Assert.Equal(new[] { "step-00000001" }, store.ListDirectories(""));
        using var reader = store.OpenRead("step-00000001/a.safetensors");
        Assert.Equal(data.Length, reader.Length);
        var back = new byte[data.Length - 100];
        reader.ReadExactly(back, 100);
        Assert.Equal(data[100..], back);
        Assert.Empty(store.AbandonedUploads());
    }

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public void A_writer_dropped_before_its_flush_should_leave_no_object_and_no_upload(string service)
    {
        var (store, http) = Open(service);
        using (var writer = store.Create("step-00000001/dropped.safetensors"))
        {
            writer.Write(Bytes(2 * Part, 2), 0);
            // A full part goes at once: the upload is under way, and the flush never comes.
            Assert.True(SpinWait.SpinUntil(() => store.AbandonedUploads().Count == 1, TimeSpan.FromSeconds(30)));
        }
        Assert.False(store.Exists("step-00000001/dropped.safetensors"));
        Assert.Empty(store.AbandonedUploads());
    }

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public async Task Gc_should_find_and_abort_an_upload_a_killed_writer_left(string service)
    {
        var (store, _) = Open(service);
        // What a writer killed mid-file leaves: an upload begun, a part sent, never completed nor aborted.
        var client = ObjectClients.Open(store.Location, emulators.Options(service));
        await client.EnsureContainerAsync(create: false, default);
        var key = store.Location.Key("step-00000002/orphan.safetensors");
        var id = await client.StartUploadAsync(key, default);
        await client.UploadPartAsync(key, id, 1, new System.Buffers.ReadOnlySequence<byte>(Bytes(Part, 3)), default);

        var abandoned = store.AbandonedUploads();
        Assert.Equal("step-00000002/orphan.safetensors", Assert.Single(abandoned).Path);
        store.AbortUpload(abandoned[0].Path, abandoned[0].UploadId);
        Assert.Empty(store.AbandonedUploads());
        Assert.False(store.Exists("step-00000002/orphan.safetensors"));
    }

    [Theory]
    [InlineData("HEAD")]
    [InlineData("GET")]
    public async Task An_upload_whose_s3_marker_goes_between_the_listing_and_its_read_should_not_be_listed(string gone)
    {
        // s3rver lists no multipart uploads, so each upload has a marker object naming it. A marker
        // listed a moment ago may be gone by the time it is read (its upload completed or aborted in
        // between): a concurrent abort must not make the listing fail, nor list an upload without its id.
        var (store, http) = Open("s3");
        var client = ObjectClients.Open(store.Location, emulators.Options("s3"));
        await client.EnsureContainerAsync(create: false, default);
        var key = store.Location.Key("step-00000003/racing.safetensors");
        var id = await client.StartUploadAsync(key, default);
        Assert.Equal("step-00000003/racing.safetensors", Assert.Single(store.AbandonedUploads()).Path);

        var method = new HttpMethod(gone);
        http.Fail(r => r.Method == method && r.RequestUri!.AbsolutePath.Contains(".upload-", StringComparison.Ordinal), FaultHandler.NoSuchKey);
        Assert.Empty(store.AbandonedUploads());
        Assert.Equal(1, http.Faulted[gone == "GET" ? "ranged-get" : "head"]);

        var back = Assert.Single(store.AbandonedUploads());
        Assert.Equal(id, back.UploadId);
        store.AbortUpload(back.Path, back.UploadId);
        Assert.Empty(store.AbandonedUploads());
    }

    [Theory]
    [InlineData("az", true)]
    [InlineData("s3", false)]
    public void Metadata_should_be_published_create_only_and_a_second_writer_of_the_step_refused(string service, bool honoured)
    {
        var (blobs, _) = Open(service);
        // Azurite refuses If-None-Match: * on a taken key; s3rver ignores the header, so the store looks before it writes there.
        Assert.Equal(honoured, blobs.HonoursCreateOnly);
        var store = new CheckpointStore(blobs);
        SavedCheckpoint.Save(store, 1, world: 2);
        SavedCheckpoint.LoadAll(store);
        Assert.Equal(new long[] { 1 }, store.CommittedSteps());
        var metadata = CheckpointLayout.InStep(1, CheckpointLayout.MetadataFile);
        var first = Read(blobs, metadata);

        using (var w = blobs.Create(CheckpointLayout.InStep(1, CheckpointLayout.MetadataTempFile)))
        {
            w.Write(Bytes(64, 4), 0);
            w.Flush();
        }
        Assert.Throws<StepAlreadyCommittedException>(() => store.PublishMetadata(1));
        Assert.Equal(first, Read(blobs, metadata));
    }

    [Fact]
    public async Task Azure_should_refuse_a_create_only_write_of_a_taken_key_itself()
    {
        var (store, _) = Open("az");
        var client = ObjectClients.Open(store.Location, emulators.Options("az"));
        var key = store.Location.Key("x");
        await client.PutAsync(key, "one"u8.ToArray(), createOnly: true, default);
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => client.PutAsync(key, "two"u8.ToArray(), createOnly: true, default));
        Assert.Equal(ObjectErrorKind.AlreadyExists, e.Kind);
    }

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public void A_part_that_fails_twice_should_be_sent_again_and_the_file_complete(string service)
    {
        var (store, http) = Open(service, faults: h => h.Fail(FaultHandler.IsPartUpload, () => FaultHandler.InternalError(service == "az"), times: 2));
        var data = Bytes(Part + 10, 5);
        WriteWhole(store, "step-00000001/b.safetensors", data);
        Assert.Equal(2, http.Faulted["part"]);
        Assert.Equal(2, store.Retried);
        Assert.Equal(data, Read(store, "step-00000001/b.safetensors"));
    }

    [Fact]
    public void A_block_should_carry_Azures_CRC64_of_its_bytes_and_no_MD5_by_default()
    {
        var (store, http) = Open("az", faults: h => h.Record(FaultHandler.IsPartUpload));
        var data = Bytes(2 * Part + 77, 9);
        WriteWhole(store, "step-00000001/c.safetensors", data);
        Assert.Equal(3, http.Recorded.Count);
        foreach (var (headers, body) in http.Recorded)
        {
            // The SDK's own CRC-64 is the reference: the header must be what Azure computes over the body as sent.
            var reference = Azure.Storage.StorageCrc64HashAlgorithm.Create();
            reference.Append(body);
            Assert.Equal(Convert.ToBase64String(reference.GetCurrentHash()), Assert.Single(headers[AzureCrc64Policy.Header]));
            Assert.False(headers.ContainsKey("Content-MD5"));
            Assert.False(headers.ContainsKey("x-ms-structured-body"));
        }
        Assert.Equal(data, Read(store, "step-00000001/c.safetensors"));
    }

    [Fact]
    public void A_block_refused_for_its_CRC64_should_be_sent_again()
    {
        // Azure's answer to a block whose bytes do not match x-ms-content-crc64 (Azurite never checks it).
        var (store, http) = Open("az", faults: h => h.Fail(FaultHandler.IsPartUpload, FaultHandler.Crc64Mismatch));
        var data = Bytes(Part + 5, 10);
        WriteWhole(store, "step-00000001/e.safetensors", data);
        Assert.Equal(1, http.Faulted["part"]);
        Assert.Equal(1, store.Retried);
        Assert.Equal(data, Read(store, "step-00000001/e.safetensors"));
    }

    [Fact]
    public void A_part_damaged_on_the_way_should_be_refused_by_its_MD5_and_sent_again()
    {
        // Azurite checks a block's Content-MD5 (not its CRC-64); S3 checks it too, s3rver does not (next spec).
        var (store, http) = Open("az", faults: h => h.Corrupt(FaultHandler.IsPartUpload), blockChecksum: AzureBlockChecksum.Md5);
        var data = Bytes(Part + 3, 8);
        WriteWhole(store, "step-00000001/d.safetensors", data);
        // The service checked the part's MD5 and refused it (400 BadDigest / Md5Mismatch); the store sent it again.
        Assert.Equal(1, http.CorruptedAnswers[400]);
        Assert.Equal(1, store.Retried);
        Assert.Equal(data, Read(store, "step-00000001/d.safetensors"));
    }

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public void A_data_file_damaged_on_the_way_should_never_load_as_good_bytes(string service)
    {
        var (blobs, http) = Open(service, faults: h => h.Corrupt(r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.EndsWith(".safetensors", StringComparison.Ordinal)));
        var store = new CheckpointStore(blobs);
        SavedCheckpoint.Save(store, 1, world: 2);
        if (service == "az")
        {
            // Files smaller than a part go whole, with their MD5: refused by the service and sent again, the checkpoint is whole.
            Assert.Equal(1, http.CorruptedAnswers[400]);
            Assert.Empty(CheckpointVerifier.Verify(store, 1));
            return;
        }
        // s3rver keeps a body that does not match its Content-MD5 (it never checks it): the fallback
        // is what every reader checks, each file's header against the metadata and each block's
        // checksum, so the damage is found and named, never loaded as good bytes.
        Assert.Equal(1, http.CorruptedAnswers[200]);
        Assert.NotEmpty(CheckpointVerifier.Verify(store, 1));
    }

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public void Metadata_opened_by_index_should_be_fetched_in_blocks_not_read_by_read(string service)
    {
        var (blobs, http) = Open(service);
        var store = new CheckpointStore(blobs);
        SavedCheckpoint.Save(store, 1, world: 2);
        var path = CheckpointLayout.InStep(1, CheckpointLayout.MetadataFile);
        int MetadataGets() => http.RangeGets.Where(g => g.Key.EndsWith(path, StringComparison.Ordinal)).Sum(g => g.Value);

        // The reads an index makes, straight on the object: many requests (the control).
        var before = MetadataGets();
        using (var direct = MetadataIndex.Open(blobs.OpenRead(path), path, expectedChecksum: null)) direct.ReadAll();
        var straight = MetadataGets() - before;
        Assert.True(straight > 1, $"the index read made {straight} ranged GETs straight on the object");

        // Opened by the store: one GET per MiB block of the document (this one is one block).
        before = MetadataGets();
        CheckpointMetadata read;
        using (var index = store.OpenMetadata(1)) read = index.ReadAll();
        Assert.Equal(1, MetadataGets() - before);
        Assert.Equal(store.ReadMetadata(1).Tensors.Keys.Order(), read.Tensors.Keys.Order());
    }

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public void A_throttling_answer_should_be_classified_with_its_wait_and_the_part_retried(string service)
    {
        HttpResponseMessage Throttle() => service == "az" ? FaultHandler.ServerBusy(1) : FaultHandler.SlowDown(1);
        var (store, http) = Open(service);
        var client = ObjectClients.Open(store.Location, emulators.Options(service) with { WrapHandler = inner => http = new FaultHandler(inner) });
        http.Fail(_ => true, Throttle);
        var e = Assert.Throws<ObjectStoreException>(() => client.PutAsync(store.Location.Key("t"), "x"u8.ToArray(), createOnly: false, default).GetAwaiter().GetResult());
        Assert.Equal(ObjectErrorKind.Throttled, e.Kind);
        Assert.Equal(TimeSpan.FromSeconds(1), e.RetryAfter);
        Assert.DoesNotContain('\n', e.Message);

        var (throttled, h) = Open(service, faults: f => f.Fail(FaultHandler.IsPartUpload, Throttle, times: 2));
        var data = Bytes(Part, 6);
        using (var writer = throttled.Create("step-00000001/c.safetensors"))
        {
            writer.Write(data, 0);
            writer.Write(data.AsSpan(0, 10), Part);
            writer.Flush();
        }
        Assert.Equal(2, h.Faulted["part"]);
        Assert.Equal(data, Read(throttled, "step-00000001/c.safetensors")[..Part]);
    }

    [Theory]
    [InlineData("az", "403 AuthorizationFailure: the credentials were refused")]
    [InlineData("s3", "403 InvalidAccessKeyId: the credentials were refused")]
    public void Bad_credentials_should_be_one_line_naming_the_container(string service, string said)
    {
        var container = ObjectEmulators.NewContainer();
        var wrongKey = service == "az" ? Convert.ToBase64String(new byte[64]) : "WRONG";
        var e = Assert.Throws<ObjectStoreException>(() => BlobStores.Open($"{service}://{container}/p", emulators.Options(service, wrongKey) with { StateDirectory = _state.Path }));
        Assert.Equal(ObjectErrorKind.Unauthorized, e.Kind);
        Assert.Contains($"{service}://{container}", e.Message);
        Assert.Contains(said, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("az", "the container does not exist")]
    [InlineData("s3", "the bucket does not exist")]
    public void A_missing_container_should_be_one_line_unless_creating_is_asked(string service, string said)
    {
        var container = ObjectEmulators.NewContainer();
        var options = emulators.Options(service) with { StateDirectory = _state.Path };
        var e = Assert.Throws<ObjectStoreException>(() => BlobStores.Open($"{service}://{container}", options));
        Assert.Equal(ObjectErrorKind.ContainerMissing, e.Kind);
        Assert.Contains($"{service}://{container}", e.Message);
        Assert.Contains(said, e.Message);
        Assert.Contains("--create", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        var store = BlobStores.Open($"{service}://{container}", options with { CreateMissing = true });
        Assert.Empty(store.ListDirectories(""));
        // Created: the next open needs no --create.
        BlobStores.Open($"{service}://{container}", options);
    }

    /// <summary>Writes <paramref name="data"/> as the whole of <paramref name="path"/> and flushes it: the parts go up.</summary>
    private static void WriteWhole(IBlobStore store, string path, byte[] data)
    {
        using var writer = store.Create(path);
        writer.Write(data, 0);
        writer.Flush();
    }

    private static byte[] Read(IBlobStore store, string path)
    {
        using var reader = store.OpenRead(path);
        var bytes = new byte[reader.Length];
        reader.ReadExactly(bytes, 0);
        return bytes;
    }
}
