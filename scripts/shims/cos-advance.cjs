// cos-nodejs-sdk-v5's "advanced" methods (sliceUploadFile, uploadFile(s), sliceCopyFile,
// downloadFile, abortUploadTask: multipart upload/copy of large files, ~20 KB). This product
// reads and writes small objects with getObject/putObject/putObjectCopy only, so the COS
// prototype simply does not get these methods.
module.exports.init = function () {};
