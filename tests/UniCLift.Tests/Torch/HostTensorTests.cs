namespace UniCLift.Tests.Torch;

using UniCLift.Compute;
using static TorchSharp.torch;

[Collection(UniCLift.Tests.Training.TorchCountsCollection.Name)] // the pinned-object count is process-wide: run alone
public sealed class HostTensorTests
{
    [Fact]
    public void A_Copy_Holds_The_Values_In_The_Shape_Asked_For_And_Not_The_Array_Itself()
    {
        TorchRuntime.EnsureInitialised();
        var data = Enumerable.Range(0, 24).Select(i => (byte)(i * 10)).ToArray();
        using var t = HostTensor.Copy(data, 2, 4, 3);
        Assert.Equal(ScalarType.Byte, t.dtype);
        Assert.Equal(new long[] { 2, 4, 3 }, t.shape);
        Assert.Equal(data, t.data<byte>().ToArray());
        data[5] = 1; // a copy: the tensor keeps what it was given
        Assert.Equal((byte)50, t[0, 1, 2].item<byte>());

        using var flat = HostTensor.Copy(new long[] { 7, -3, 9 });
        Assert.Equal(new long[] { 3 }, flat.shape);
        Assert.Equal(new long[] { 7, -3, 9 }, flat.data<long>().ToArray());
        Assert.Throws<ArgumentException>(() => HostTensor.Copy(new float[5], 2, 3));
    }

    [Fact]
    public void Kept_Copies_Leave_No_Array_Pinned_Where_Torch_Tensor_Pins_One_Each()
    {
        TorchRuntime.EnsureInitialised();
        const int kept = 64;
        int PinnedAfter(Func<float[], Tensor> make, List<Tensor> keep)
        {
            for (int i = 0; i < kept; i++) keep.Add(make(new float[1000]));
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return (int)GC.GetGCMemoryInfo().PinnedObjectsCount;
        }
        var byTorch = new List<Tensor>();
        var byHost = new List<Tensor>();
        try
        {
            int before = PinnedAfter(_ => zeros(1), []);
            int torchPins = PinnedAfter(a => tensor(a), byTorch) - before;
            int hostPins = PinnedAfter(a => HostTensor.Copy(a), byHost) - before - torchPins;
            Assert.True(torchPins >= kept, $"the control: torch.tensor pinned {torchPins} arrays for {kept} kept tensors");
            Assert.True(hostPins < kept / 4, $"{hostPins} more arrays pinned while {kept} HostTensor copies are alive");
        }
        finally
        {
            foreach (var t in byTorch.Concat(byHost)) t.Dispose();
        }
    }
}
