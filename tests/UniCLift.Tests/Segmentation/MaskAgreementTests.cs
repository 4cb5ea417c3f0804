namespace UniCLift.Tests.Segmentation;

using UniCLift.Compute.Segmentation;

public class MaskAgreementTests
{
    [Fact]
    public void Ids_Are_Matched_Within_Each_View_And_Misses_And_Spurious_Segments_Cost()
    {
        // A 4x2 view: two segments of 4 pixels.
        int[] mask = [1, 1, 2, 2, 1, 1, 2, 2];
        var same = new MaskAgreement();
        same.AddView([7, 7, 3, 3, 7, 7, 3, 3], mask); // other ids, same segments
        Assert.Equal(1.0, same.Score, 12);
        Assert.Equal(1, same.Views);

        var missed = new MaskAgreement();
        missed.AddView([7, 7, 0, 0, 7, 7, 0, 0], mask); // one segment missed: TP 1 (IoU 1), FN 1
        Assert.Equal(1 / 1.5, missed.Score, 12);

        var shrunk = new MaskAgreement();
        shrunk.AddView([7, 7, 3, 0, 7, 7, 3, 0], mask); // IoU 0.5 is no match: TP 1, FP 1, FN 1
        Assert.Equal(1 / 2.0, shrunk.Score, 12);
        shrunk.AddView(mask, mask);                      // views add up: TP 3 (IoU sum 3), FP 1, FN 1
        Assert.Equal(3 / 4.0, shrunk.Score, 12);

        Assert.Equal(0, new MaskAgreement().Score);
        Assert.Throws<ArgumentException>(() => new MaskAgreement().AddView([1], mask));
    }
}
