import java.io.*;
import java.util.*;
import org.apache.jute.*;
import org.apache.zookeeper.txn.*;
import org.apache.zookeeper.data.*;
import org.apache.zookeeper.server.persistence.Util;
import org.apache.zookeeper.server.DataTree;
import org.apache.zookeeper.server.DataNode;

public class Golden {
  static String hex(byte[] b) { StringBuilder sb = new StringBuilder(); for (byte x : b) sb.append(String.format("%02x", x & 0xff)); return sb.toString(); }
  static byte[] ser(org.apache.jute.Record r) throws IOException { ByteArrayOutputStream baos = new ByteArrayOutputStream(); BinaryOutputArchive boa = BinaryOutputArchive.getArchive(baos); r.serialize(boa, "x"); return baos.toByteArray(); }
  public static void main(String[] a) throws Exception {
    List<ACL> open = Collections.singletonList(new ACL(31, new Id("world", "anyone")));
    TxnHeader h = new TxnHeader(0x1234L, 7, 0x100000002L, 1700000000123L, 1);
    System.out.println("create " + hex(Util.marshallTxnEntry(h, new CreateTxn("/a/b", "hi".getBytes(), open, true, 3))));
    System.out.println("create_nulldata_digest " + hex(Util.marshallTxnEntry(new TxnHeader(1, 2, 3, 4, 15), new CreateTxn("/n", null, open, false, 0), new TxnDigest(2, 0x1122334455667788L))));
    System.out.println("container " + hex(Util.marshallTxnEntry(new TxnHeader(1, 2, 3, 4, 19), new CreateContainerTxn("/c", new byte[0], open, 5))));
    System.out.println("ttl " + hex(Util.marshallTxnEntry(new TxnHeader(1, 2, 3, 4, 21), new CreateTTLTxn("/t", new byte[]{1}, open, 5, 1000L))));
    System.out.println("delete " + hex(Util.marshallTxnEntry(new TxnHeader(1, 2, 3, 4, 2), new DeleteTxn("/d"))));
    System.out.println("setdata " + hex(Util.marshallTxnEntry(new TxnHeader(1, 2, 3, 4, 5), new SetDataTxn("/s", "xyz".getBytes(), 9))));
    System.out.println("setacl " + hex(Util.marshallTxnEntry(new TxnHeader(1, 2, 3, 4, 7), new SetACLTxn("/s", Arrays.asList(new ACL(1, new Id("digest", "u:p")), new ACL(31, new Id("ip", "10.0.0.0/8"))), 2))));
    System.out.println("check " + hex(Util.marshallTxnEntry(new TxnHeader(1, 2, 3, 4, 13), new CheckVersionTxn("/s", 4))));
    System.out.println("createsession " + hex(Util.marshallTxnEntry(new TxnHeader(0x55L, 0, 3, 4, -10), new CreateSessionTxn(30000))));
    System.out.println("closesession " + hex(Util.marshallTxnEntry(new TxnHeader(0x55L, 0, 3, 4, -11), new CloseSessionTxn(Arrays.asList("/e1", "/e2")))));
    System.out.println("closesession_v0 " + hex(Util.marshallTxnEntry(new TxnHeader(0x55L, 0, 3, 4, -11), null)));
    System.out.println("error " + hex(Util.marshallTxnEntry(new TxnHeader(1, 2, 3, 4, -1), new ErrorTxn(-101))));
    List<Txn> txns = new ArrayList<>();
    txns.add(new Txn(1, ser(new CreateTxn("/m", new byte[0], open, false, 1))));
    txns.add(new Txn(5, ser(new SetDataTxn("/m", "v".getBytes(), 1))));
    txns.add(new Txn(13, ser(new CheckVersionTxn("/m", 2))));
    txns.add(new Txn(2, ser(new DeleteTxn("/m"))));
    txns.add(new Txn(-1, ser(new ErrorTxn(0))));
    System.out.println("multi " + hex(Util.marshallTxnEntry(new TxnHeader(1, 2, 3, 4, 14), new MultiTxn(txns))));
    System.out.println("createv0 " + hex(Util.marshallTxnEntry(new TxnHeader(1, 2, 3, 4, 1), new CreateTxnV0("/v", "d".getBytes(), open, false))));
  }
}
