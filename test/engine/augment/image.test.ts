import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as I from '../../../engine/src/augment/image';

/*
 * Reference outputs for the 8-bit colour operations come from Pillow 9.4.0 (Debian python3-pil),
 * the library AutoAugment/RandAugment were defined with, on a 16x16 image:
 *
 *   from PIL import Image, ImageOps, ImageEnhance
 *   vals = [((i * i * 7 + i * 3) % 241) // (1 + (i % 3)) for i in range(256)]
 *   img = Image.new('L', (16, 16)); img.putdata(vals)
 *   ImageOps.equalize(img); ImageOps.posterize(img, 3); ImageOps.solarize(img, 100)
 *   ImageOps.autocontrast(img); ImageEnhance.Contrast(img).enhance(1.5)
 *   ImageEnhance.Sharpness(img).enhance(1.8); ImageEnhance.Sharpness(img).enhance(0.3)
 *   ImageEnhance.Brightness(img).enhance(1.4)
 *   rgb: pixel i = (vals[i], vals[(i*5) % 256], (vals[i]*3) % 256); ImageOps.equalize(rgb);
 *   ImageEnhance.Contrast(rgb).enhance(0.4)
 *
 * Each output is the hex of its bytes (row-major; RGB interleaved).
 */
// Generated with Pillow 9.4.0 (Debian python3-pil) by the script quoted above.
const PIL_REF: Record<string, string> = {
  'IN':
    '00050b483e3f1d3d4d700334500845ae4c3099574511283407384d7b0e3f7c240b0a0001161b21a0751bb71d3e5b043c' +
    '7d2a132c161459423f1334434b6522105c2a531a0c23171871534e4c560da51f478b270aef6e47e0030e5e4f4f5a6219' +
    'd43c0edb542c6f33248151462036423d5917d843160f6c40b55c43e8121fa80726e63b06b13511096f45d06f0333353b' +
    '143b4c7307385f124dc95c3cc06c05444348465914c6360ad3512b6d33258554492a3c464d621eee4f1f2b034ad76e4f' +
    '1f272ed61f37295619eb532549170b251a1b7f5c05666519cb3406bd421d3c160e392a29b4041ebc1d3d517535641b07' +
    '040003222429be0e29e738029d2805d1',
  'EQ':
    '000d1c9d87894284a6d4056eaf1795e5a36ae0ba95285b6e1378a6d92189da521c190003313e4ee2d73ee94287bf0a7f' +
    'db612c67312ebb8d892c6e90a2c94f27c061b33c1f513538d5b3aaa3b820e3489bdf5919ffcf9bf90521c4ababbec639' +
    'f47f21f8b667d16b52ddb0984d758d84bb35f7903126cc8ce8c090fc2a48e41358fa7c11e6722818d195f1d1056b727c' +
    '2e7ca3d61378c52aa6efc07fedcc0d94909d98bb2eee7519f3b065ce6b55deb69f617f98a6c646feab486505a1f6cfab' +
    '485969f548775db839fdb3559f351c553c3edcc00dcbc939f06e11eb8d427f31217b615de70a46ea4284b0d772c83e13' +
    '0a00054f525dec215dfb7804e15b0df2',
  'POST3':
    '000000402020002040600020400040a04020804040002020002040600020602000000000000020a06000a00020400020' +
    '602000200000404020002040406020004020400000200000604040404000a00040802000e06040e00000404040406000' +
    'c02000c04020602020804040202040204000c04000006040a04040e00000a00020e02000a02000006040c06000202020' +
    '002040600020400040c04020c06000404040404000c02000c04020602020804040202040406000e04000200040c06040' +
    '002020c00020204000e04020400000200000604000606000c02000a04000200000202020a00000a00020406020600000' +
    '000000202020a00020e02000802000c0',
  'SOL100':
    '00050b483e3f1d3d4d8f0334500845514c3066574511283407384d840e3f83240b0a0001161b215f8a1b481d3e5b043c' +
    '822a132c161459423f1334434b9a22105c2a531a0c2317188e534e4c560d5a1f4774270a1091471f030e5e4f4f5a6219' +
    '2b3c0e24542c9033247e51462036423d59172743160f93404a5c4317121f570726193b064e35110990452f900333353b' +
    '143b4c8c07385f124d365c3c3f930544434846591439360a2c512b9233257a54492a3c464d621e114f1f2b034a28914f' +
    '1f272e291f3729561914532549170b251a1b805c05999a1934340642421d3c160e392a294b041e431d3d518a359b1b07' +
    '040003222429410e291838026228052e',
  'AC':
    '00050b4c42431e4152770337550849b95133a35c49122a37073b52830e4384260b0a0001171c23aa7c1cc31e42610440' +
    '852c142e17155e4643143747506b2411622c581b0c251819785853515b0db0214b94290aff754bee030e64545460681a' +
    'e2400ee9592e76362689564a223946415e18e64717107344c16247f71321b30728f53e06bc3812097649dd760336383e' +
    '153e517a073b651352d66240cc730548474c4a5e15d3390ae1562d7436278d594d2c404a526820fd54212d034ee57554' +
    '212931e4213a2b5b1afa58274d180b271b1c8762056c6b1ad83706c9461e40170e3c2c2bc00420c81e41567c386a1c07' +
    '04000324262bca0e2bf63b02a72a05de',
  'CON1.5':
    '00000048393b08385084002a540044e14e24c25f4400182a00305095003b96120000000000050ecc8c05ef0839650036' +
    '981b001e0000623f3b002a414d740f00661b5903001100008659514e5d00d40b47ad1700ff8147ff0000695353636f02' +
    'ff3600ff5a1e8329129e56450c2d3f386200ff4100007e3cec6641ff000bd80015ff3500e62c00008344ff8300292c35' +
    '00354e8900306b0050ff6636fc7e00424148456200ff2d00ff561d802914a45a4a1b3645506f09ff530b1d004bff8153' +
    '0b1721ff0b2f1a5d02ff59144a00001403059b6600757402ff2a00f83f08360000321b1aea0009f60838568c2c720500' +
    '0000000f121af9001aff3000c81800ff',
  'SH1.8':
    '00050b483e3f1d3d4d700334500845ae4c37d56a5104202d002e4e98004299240b0000000e1514d29204f5033a6a003c' +
    '7d260d36150d6d3c38002b3c4f7515105c19650a000f00008961564c5c00dd1f47a91500ff7e43ff0000665157627219' +
    'd42800ff50137b1b079d493e072c423d5900ff3300008a38eb5327ff0013e30726ff2700f33000007a27fd6f0028303b' +
    '1431468c002d740047f55328fd800044434e446600ff2200ff491a801b009b5449223242437200ff3d001a004cff7e4f' +
    '1f1f1bff0234105200ff5715450000251a109b5f007c7500ff2000fa3c1149160e45271df60003f100304d89247a0b07' +
    '040003222429be0e29e738029d2805d1',
  'SH0.3':
    '00050b483e3f1d3d4d700334500845ae4c2963463a1c2e3927404b61233c62240b1f15161c1f2c735b2e8033414d1e3c' +
    '7d2c17221619474644313b4846562d105c38422822332f305b46464c502e741f4770362ca46049962629564c48535319' +
    'd44d31a1564164483d67584c353e423d593e9f513029514685635ba42929740726a24c2b76392029655ea86e2d3c393b' +
    '1443505c2a414c2951a2634d8a5923444342474d318846319f58395c484571544930444855533ba45e3c391d4795604f' +
    '1f2d3e9438393e5841a24f324b2f24251a2466592952563499443187462630160e2d2c337927358d3c48546343502907' +
    '040003222429be0e29e738029d2805d1',
  'BR1.4':
    '00070f64565828556b9c0448700b60f36a43d67960173848094e6bac1358ad320f0e00011e252ee0a325ff28567f0554' +
    'af3a1a3d1e1c7c5c581a485d698d2f16803a7424103120219e746d6a7812e72b63c2360eff9a63ff0413836e6e7e8923' +
    'ff5413ff753d9b4732b471622c4b5c557c20ff5d1e159759fd805dff192beb0935ff5208f74a170c9b60ff9b04474a52' +
    '1c526aa1094e85196bff8054ff97075f5d64627c1cff4b0eff713c984733ba75663a54626b892aff6e2b3c0467ff9a6e' +
    '2b3640ff2b4d397823ff743366200f332425b180078e8d23ff4808ff5c28541e134f3a39fc052aff285571a34a8c2509' +
    '0500042f3239ff1339ff4e02db3807ff',
  'RGBIN':
    '000000053f0f0b032148aed83e45ba3f38bd1d7c573d01b74d75e7705b5003130934429c504bf0082a184517cfae4c0a' +
    '4c47e4306e90995ecb5719054554cf11813328427834439c07b515381fa84d3be77b09710e032a3f3bbd7c5f74243c6c' +
    '0b43210ac61e002b00015403164d421b1f51216e63a0d6e075195f1b1751b77f251d19573e42ba5b3911041e0c3c75b4' +
    '7d04772a297e1338392cd184163e4214703c59450b4257c63f07bd133f3934009c43a0c94b3ee1652a2f225966104330' +
    '5c5c142a237e534ef91a1f4e0cef24230e6917624518db487124535336f94ed8ea4c40e45612020de627a511ef1f6f5d' +
    '4714d58b38a1275c750a441eef14cd6e514a4785d5e046a0034f090ed72a5e2e1a4f56ed4f49ed5a1b0e62652619bd4b' +
    'd40e7c3c04b40e512adb07915424fc2ce7846f054d334899244d6c8108835199f34634d2200e60360aa24221c63d1db7' +
    '597d0b171445d834884310c9160c420f532d6ca544400ac0b5031f5c5a14430ec9e833b81220361f175da86cf807e815' +
    '262672e635b23bd0b1063b12b1071335c99f11053309591b6fd34d4525cfd03c706fee4d034a0933279935299f3b25b1' +
    '141a3c3b66b14c06e473165907b415383da85f1b1d1222364d29e7c9285b5c0b143c3db4c050406c304405280f447bcc' +
    '430bc9481bd846b7d2593c0b14163cc613523622a20a1a1ed37179510df32b27816de047334f99253c6f856f8f5446fc' +
    '4959db2a0f7e3c43b44607d24db1e76245261e355aee73ca4f4ded1f6c5d2b4681030a094a33ded72a856e1e4a4f03ed' +
    '1f1f5d2737752e538ad625821f055d3734a5293c7b562902191d4beb64c15303f9250e6f499ddb1705450b1d2125346f' +
    '1a4c4e1b11517f4d7d5c241405160f661b3265042f192c4bcb3f6134659c065312bd18374256c61d8b573c47b4164f42' +
    '0ed42a392cab2a517e293d7bb4161c045c0c1ea85abc06341d6f573d33b7514cf375125f35c09f64482c1b3651076d15' +
    '04490c006200032b09224f66241f6c29eb7bbe0b3a0e5c2a29cb7be71db5382aa802bc069d35d728007805be0fd10273',
  'RGBEQ':
    '0000000d890f1c05219de5d88795ba8978bd42da578403b7a6d7e7d4bf50052c096e8d9cafa2f01761189535cfe5a30a' +
    'a39be46acf90e0c4cbba390595b6cf28dd335b8d786e909c13e8157848a8a67ce7d9187121052a897cbddac574527f6c' +
    '1c902119ee1e00650003b60331a6423e48514ecf63e2f5e0d7395f3e3551e9dc25423957878dbabf7b110a460c7fd7b4' +
    'db0a77615d7e2c783967f2843187422ed43cbb950b8dbac68913bd2c89396e009c90e2c9a287e1c9612f4fbb66279030' +
    'c0c01461517eb3aaf93c484e1fff2451216935c64538f848d55253b375f9aaf7eaa38ce4b82a0220fa27e328ef48d15d' +
    '9b2ed5df78a159c07519941eff2ecdcfb04a9bded5f998a005ab0921f62ac4691aabb8edab9fedbe3e0ec6c92639eb4b' +
    'f4217c7f0ab421b02af81391b652fc67fb84d10d4d6b9d9952a66cdd1783b0e0f3986ed24d21607519a28d4ec68442b7' +
    'bbdb0b352e45f76e889027c9311f4226b32dcce3448c19c0e8051fc0be149021c9fc6bb82a4d3648355de4ccf813fc15' +
    '585872fa72b27cf1b1117c12e6131372ef9f280d3318bb1bd1f34d9555cff17f70d1fe4d05a1096b5999725d9f7c55b1' +
    '2e3c3c7ccbb1a311e4d6315913e7157884a8c53e1d2a4f36a65de7ef5b5bc01c147f84b4edaf40cc6a440d5b0f94d9cc' +
    '901cc99d3ed898e9d2bb7f0b2e313cee2c52754fa2193c1ef3d579b020f3655981cef9476bab99557f6fded18fb698fc' +
    '9fbbdb61267e7f90b49813d2a6e6e7c6952646725afed6caaba6ed48cc5d659881051909a16bdef66185cf464aab05ed' +
    '48485d59777569b38af55582480d5d776ea55d7f7bb85d0239424bfdc8c1b305f955216f9fe1db350d451c4221556e6f' +
    '3ca34e3e2851dca67dc052140d310fcb3e32c90a2f39674bf089616ec99c11b312eb38378db8c642df577f9bb431ab42' +
    '21f42a7b67ab61b07e5d847be7311c0ac00c46e45aea113442d157846bb7b0a3f3d72a5f72ed9fc89d2c3e755113ce15' +
    '0a9f0c00c6000565094fab6652486c5dfd7bec1c3a21c02a5df07bfb42b57861a804ea06e172d75b00780dec0ff20473',
  'RGBCON0.4':
    '2d2d2d2f4633322e3a4a7384464978464479395f50462e764c5c8a5a524d2e353142486c4d4b8d303e37493680734c31' +
    '4c4a884059676a537e50372f494f803461423d485d42486c307636443a704c458a5e315a332e3e4645795f535c3c4558' +
    '32483a317c392d3e2d2e4f2e364c48383a4e3a59556d83875c375338364e76603c3937504648785244342f3932455c75' +
    '5f2f5d3e3e603544443f8162364648355a4551493248507c463079354644422d6c486d7e4b4687563e403b5156344840' +
    '5252353e3b604e4c91383a4c328d3c3b335736544937854a5a3c4e4e43914c848b4c478850342e32893d6f348d3a5a52' +
    '4a358265446e3d525c3148398d357f594e4b4a628287496d2e4d3133833e5340384d508c4d4a8c51383354563c37794b' +
    '82335f452f75334e3e8530674f3c923f8a625a2f4c424a6a3c4c586130624e6a8e4942813a335443316e483a7c463976' +
    '515f3236354984426448347e363248334e3f586f4847317a762e3a52513548337e8a4277343a433a3652705890308a36' +
    '3c3c5b894274458074304534743035427e6d342f423151385a824c493c8080455a5a8c4c2e4b31423d6a423e6d453c74' +
    '3538454556744c30885b3651307536444670533839343b434c3e8a7e3d525232354546757a4d475840482f3d33485e7f' +
    '48327e4a38844976815145323536457c354e433b6e313839825a5e4e328e3e3d6159874a424d6a3c455a625a664f4992' +
    '4a51853e33604548754930814c748a54493c3942518c5b7e4d4c8c3a58523e49612e31314b4286833e6259394b4d2e8c' +
    '3a3a523d435c404e64833c613a2f5243426f3e455e503e2e37394b8b557a4e2e913c335a4a6c85362f4932393a3c425a' +
    '384c4c38344e604c5f523c352f3633563841562f40373f4b7e465442566c304e3479374348507c396550454a75364d48' +
    '33823e443f723e4e603e465e7536382f5232397051783042395a504642764e4c8e5c3453427a6d554a3f38434e305936' +
    '2f4a322d542d2e3e313b4d563c3a583e8b5e79324433523e3e7e5e8a3976443e702e78306c42833d2d5d2f7933812e5b',
};

const hex = (s: string) => Array.from(Buffer.from(s, 'hex'));
const img8 = (key: string) => Float32Array.from(hex(PIL_REF[key]), (v) => v / 255);
const levels = (a: Float32Array) => Array.from(a, (v) => Math.round(v * 255));
const G16 = { h: 16, w: 16, c: 1 };
const C16 = { h: 16, w: 16, c: 3 };

function maxLevelDiff(a: Float32Array, b: number[]): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] * 255 - b[i]));
  return m;
}

test('equalize, posterize, solarize match Pillow exactly (8-bit)', () => {
  const g = img8('IN');
  assert.deepEqual(levels(I.equalize(g, G16)), hex(PIL_REF.EQ));
  assert.deepEqual(levels(I.posterize(g, G16, 3)), hex(PIL_REF.POST3));
  assert.deepEqual(levels(I.solarize(g, G16, 100)), hex(PIL_REF.SOL100));
  assert.deepEqual(levels(I.equalize(img8('RGBIN'), C16)), hex(PIL_REF.RGBEQ));
  // Degenerate cases: threshold 256 and 8 bits are no-ops; threshold 0 inverts everything.
  assert.deepEqual(levels(I.solarize(g, G16, 256)), hex(PIL_REF.IN));
  assert.deepEqual(levels(I.posterize(g, G16, 8)), hex(PIL_REF.IN));
  assert.deepEqual(levels(I.solarize(g, G16, 0)), hex(PIL_REF.IN).map((v) => 255 - v));
  // A constant image has a single histogram bin: equalize leaves it alone.
  const flat = new Float32Array(256).fill(0.5);
  assert.deepEqual(I.equalize(flat, G16), flat);
});

test('autocontrast, contrast, sharpness, brightness agree with Pillow within one 8-bit level', () => {
  // Pillow works in 8 bits: it rounds the degenerate image (the smoothed image, the contrast
  // mean) to integers and truncates the blend, so it lies up to 1 + 0.5|1 - f| levels below
  // our float result; we work in float. Allow that, and check the result is never far off.
  const g = img8('IN');
  const tol = (f: number) => 1 + 0.5 * Math.abs(1 - f) + 1e-3;
  assert.ok(maxLevelDiff(I.autocontrast(g, G16), hex(PIL_REF.AC)) <= 1);
  assert.ok(maxLevelDiff(I.contrast(g, G16, 1.5), hex(PIL_REF['CON1.5'])) <= tol(1.5));
  assert.ok(maxLevelDiff(I.sharpness(g, G16, 1.8), hex(PIL_REF['SH1.8'])) <= tol(1.8));
  assert.ok(maxLevelDiff(I.sharpness(g, G16, 0.3), hex(PIL_REF['SH0.3'])) <= tol(0.3));
  assert.ok(maxLevelDiff(I.brightness(g, G16, 1.4), hex(PIL_REF['BR1.4'])) <= 1);
  assert.ok(maxLevelDiff(I.contrast(img8('RGBIN'), C16, 0.4), hex(PIL_REF['RGBCON0.4'])) <= tol(0.4));
  // Factor 1 is the identity for every enhancer.
  for (const f of [I.contrast, I.sharpness, I.brightness]) assert.deepEqual(f(g, G16, 1), g);
});

// 3x3 single-channel image with values 1..9 (row-major).
const S3 = { h: 3, w: 3, c: 1 };
const A = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);

test('flip, translate, padCrop, zeroRect: exact small cases', () => {
  assert.deepEqual(Array.from(I.flipHorizontal(A, S3)), [3, 2, 1, 6, 5, 4, 9, 8, 7]);
  // Two-channel 1x2 image: channels stay together.
  assert.deepEqual(Array.from(I.flipHorizontal(Float32Array.from([1, 2, 3, 4]), { h: 1, w: 2, c: 2 })), [3, 4, 1, 2]);
  assert.deepEqual(Array.from(I.translate(A, S3, 1, 1)), [0, 0, 0, 0, 1, 2, 0, 4, 5]);
  assert.deepEqual(Array.from(I.padCrop(A, S3, 1, 0, 0)), [0, 0, 0, 0, 1, 2, 0, 4, 5]);
  assert.deepEqual(Array.from(I.padCrop(A, S3, 1, 2, 1)), [2, 3, 0, 5, 6, 0, 8, 9, 0]);
  assert.deepEqual(Array.from(I.padCrop(A, S3, 1, 1, 1)), Array.from(A));
  assert.deepEqual(Array.from(I.padCrop(A, S3, 4, 0, 0)), new Array(9).fill(0));
  assert.deepEqual(Array.from(I.zeroRect(A, S3, -1, 1, 1, 5)), [1, 2, 3, 0, 5, 6, 0, 8, 9]);
  assert.deepEqual(Array.from(A), [1, 2, 3, 4, 5, 6, 7, 8, 9]); // inputs untouched
});

test('rotate and shear: exact right angles, bilinear weights, zero fill', () => {
  // 90 degrees counter-clockwise on screen: the right column becomes the top row.
  assert.deepEqual(Array.from(I.rotate(A, S3, 90)), [3, 6, 9, 2, 5, 8, 1, 4, 7]);
  assert.deepEqual(Array.from(I.rotate(A, S3, -90)), [7, 4, 1, 8, 5, 2, 9, 6, 3]);
  assert.deepEqual(Array.from(I.rotate(A, S3, 180)), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
  assert.deepEqual(Array.from(I.rotate(A, S3, 0)), Array.from(A));
  // 30 degrees: the top-left output samples the source at (x, y) = (1 - cos30 + sin30, 1 - sin30 - cos30)
  // = (0.634, -0.366): bilinear over rows -1 (zero) and 0 with weights tx = ty = 0.634.
  const r = I.rotate(A, S3, 30);
  const t = 1 - Math.cos(Math.PI / 6) + 0.5;
  const ty = 1 - 0.5 - Math.cos(Math.PI / 6) + 1;
  assert.ok(Math.abs(r[0] - ((1 - t) * ty * 1 + t * ty * 2)) < 1e-6);
  assert.equal(r[4], 5); // the centre is fixed
  // Shear by 1 about the centre row: row y samples x + (y - 1).
  assert.deepEqual(Array.from(I.shearX(A, S3, 1)), [0, 1, 2, 4, 5, 6, 8, 9, 0]);
  // Column x samples row y + (x - 1).
  assert.deepEqual(Array.from(I.shearY(A, S3, 1)), [0, 2, 6, 1, 5, 9, 4, 8, 0]);
  // Half-pixel shear: row 0 samples x - 0.5, i.e. the mean of two neighbours.
  const h = I.shearX(A, S3, 0.5);
  assert.deepEqual(Array.from(h.subarray(0, 3)), [0.5, 1.5, 2.5]);
});
