import java.io.*;
import java.util.*;
import org.apache.zookeeper.txn.*;
import org.apache.zookeeper.data.*;
import org.apache.zookeeper.server.DataTree;

// Applies a fixed txn sequence to ZooKeeper 3.8's own DataTree and prints the
// tree digest and a few stats after each step: the oracle for tree_test.cpp.
public class Replay {
  static DataTree t = new DataTree();
  static long z = 0;
  static byte[] ser(org.apache.jute.Record r) throws IOException { ByteArrayOutputStream baos = new ByteArrayOutputStream(); r.serialize(org.apache.jute.BinaryOutputArchive.getArchive(baos), "x"); return baos.toByteArray(); }
  static void step(String name, long session, int type, org.apache.jute.Record txn) {
    z++;
    DataTree.ProcessTxnResult rc = t.processTxn(new TxnHeader(session, (int) z, z, 1000 + z, type), txn);
    System.out.println(name + " zxid=" + z + " err=" + rc.err + " digest=" + t.getTreeDigest() + " nodes=" + t.getNodeCount() + " size=" + t.cachedApproximateDataSize());
  }
  static void stat(String p) throws Exception {
    Stat s = t.statNode(p, null);
    System.out.println("  stat " + p + " " + s.getCzxid() + "," + s.getMzxid() + "," + s.getCtime() + "," + s.getMtime() + "," + s.getVersion() + "," + s.getCversion() + "," + s.getAversion() + "," + s.getEphemeralOwner() + "," + s.getDataLength() + "," + s.getNumChildren() + "," + s.getPzxid());
  }
  public static void main(String[] a) throws Exception {
    List<ACL> open = Collections.singletonList(new ACL(31, new Id("world", "anyone")));
    List<ACL> ro = Collections.singletonList(new ACL(1, new Id("world", "anyone")));
    System.out.println("fresh digest=" + t.getTreeDigest() + " nodes=" + t.getNodeCount() + " size=" + t.cachedApproximateDataSize());
    step("create /a", 0x55, 1, new CreateTxn("/a", "hello".getBytes(), open, false, 1));
    step("create /a/e", 0x55, 1, new CreateTxn("/a/e", null, open, true, 1));
    step("create /a/s", 0x66, 15, new CreateTxn("/a/s0000000001", new byte[0], ro, false, 2));
    step("setData /a", 0x55, 5, new SetDataTxn("/a", "world!".getBytes(), 1));
    step("setData / null", 0x55, 5, new SetDataTxn("/", null, 1));
    step("setACL /a", 0x55, 7, new SetACLTxn("/a", ro, 1));
    step("delete /a/s", 0x55, 2, new DeleteTxn("/a/s0000000001"));
    step("container /c", 0x55, 19, new CreateContainerTxn("/c", "c".getBytes(), open, 2));
    step("create /zookeeper/x", 0x55, 1, new CreateTxn("/zookeeper/x", "q".getBytes(), open, false, 1));
    step("setData /zookeeper", 0x55, 5, new SetDataTxn("/zookeeper", "z".getBytes(), 1));
    step("create dup /a/e", 0x55, 1, new CreateTxn("/a/e", null, open, true, 7));
    step("delete missing", 0x55, 2, new DeleteTxn("/a/nothere"));
    step("createSession", 0x77, -10, new CreateSessionTxn(5000));
    step("create /a/f eph 0x77", 0x77, 1, new CreateTxn("/a/f", "f".getBytes(), open, true, 8));
    List<Txn> txns = new ArrayList<>();
    txns.add(new Txn(1, ser(new CreateTxn("/m", new byte[0], open, false, 3))));
    txns.add(new Txn(5, ser(new SetDataTxn("/m", "v".getBytes(), 1))));
    txns.add(new Txn(13, ser(new CheckVersionTxn("/m", 2))));
    txns.add(new Txn(1, ser(new CreateTxn("/m/k", new byte[0], open, false, 1))));
    txns.add(new Txn(2, ser(new DeleteTxn("/m/k"))));
    step("multi", 0x55, 14, new MultiTxn(txns));
    List<Txn> bad = new ArrayList<>();
    bad.add(new Txn(1, ser(new CreateTxn("/x", new byte[0], open, false, 4))));
    bad.add(new Txn(-1, ser(new ErrorTxn(-101))));
    bad.add(new Txn(-1, ser(new ErrorTxn(-2))));
    step("failed multi", 0x55, 14, new MultiTxn(bad));
    step("closeSession 0x55", 0x55, -11, new CloseSessionTxn(Arrays.asList("/a/e")));
    step("closeSession 0x77 no list", 0x77, -11, new CloseSessionTxn(new ArrayList<String>()));
    step("error", 0x55, -1, new ErrorTxn(-110));
    step("createv0-like /b", 0x55, 1, new CreateTxn("/b", "b".getBytes(), open, false, -1));
    for (String p : new String[]{"/", "/a", "/c", "/m", "/b", "/zookeeper", "/zookeeper/x"}) stat(p);
  }
}
