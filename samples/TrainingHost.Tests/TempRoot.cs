namespace TrainingHost.Tests;

/// <summary>A directory of a test's own, removed afterwards.</summary>
internal sealed class TempRoot : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("traininghost-tests-").FullName;

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A node still closing its catalog: the temporary directory is left to the system.
        }
    }
}
